"""The simulator's default backend: the server's pipeline in this process, on a virtual clock."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.policy.config import load_policy
from askfirst.policy.explain import explain
from askfirst.policy.values import RequestFacts
from askfirst.skill.alexa.handlers import COMMAND_INTENTS, KNOWN_INTENTS, QUESTION_INTENTS
from askfirst.skill.alexa.interaction_model import PRODUCT_SLOT, WHY_SUGGEST_INTENT
from askfirst.skill.settings import Settings
from askfirst.skill.simulator.runner import Backend, Spoken
from askfirst.skill.simulator.scenario import Event, LoadedScenario, ScenarioError
from askfirst.speech.audio import read_wav
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from askfirst.turn.values import ALEXA_REQUEST, Heard, IntentInput, TurnInput

logger = logging.getLogger(__name__)


class VirtualClock:
    """The pipeline's clock: the time of the event being played."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class InProcess(Backend):
    """Runs events through :class:`skill.pipeline.Pipeline` with a fresh store per run."""

    def __init__(
        self,
        pipeline: Pipeline,
        clock: VirtualClock,
        *,
        owns_transcribers: bool = True,
        temp: tempfile.TemporaryDirectory[str] | None = None,
        checkpoint_dir: Path | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self._owns_transcribers = owns_transcribers
        self._temp = temp
        self._checkpoint_dir = checkpoint_dir
        self._ids = 0

    @classmethod
    def create(
        cls,
        loaded: LoadedScenario,
        settings: Settings,
        *,
        transcribers: TranscriberSet | None = None,
        store_url: str | None = None,
        policy_path: Path | None = None,
        checkpoint_dir: Path | None = None,
        checkpoint_every: int = 1000,
        audit_key: bytes | None = None,
    ) -> InProcess:
        """A pipeline for ``loaded``: its policy, a temporary SQLite store (or ``store_url``),
        the models it needs; with ``checkpoint_dir`` (and the ``audit_key`` it needs) the store
        adds keyed audit checkpoints every ``checkpoint_every`` records of a shard and once
        more when the run closes."""
        scenario = loaded.scenario
        if policy_path is None and scenario.policy is not None:
            policy_path = loaded.resolve(scenario.policy)
        policy = load_policy(policy_path or settings.policy_path)
        owns_transcribers = transcribers is None
        if transcribers is None:
            transcribers = _load_models(loaded, settings)
        temp: tempfile.TemporaryDirectory[str] | None = None
        if store_url is None:
            temp = tempfile.TemporaryDirectory(prefix="askfirst-sim-", dir=_scratch_dir())
            store_url = f"sqlite:///{Path(temp.name) / 'simulation.db'}"
        try:
            store = open_store(
                store_url,
                retention=timedelta(days=settings.retention_days),
                checkpoint_dir=checkpoint_dir,
                checkpoint_every=checkpoint_every,
                audit_key=audit_key,
            )
        except BaseException:
            if temp is not None:
                temp.cleanup()
            if owns_transcribers:
                transcribers.close()
            raise
        clock = VirtualClock(datetime.now(UTC))
        pipeline = Pipeline(
            policy=policy,
            store=store,
            transcribers=transcribers,
            config=settings.turn_config(),
            clock=clock,
            sleep=lambda _seconds: None,
        )
        return cls(
            pipeline,
            clock,
            owns_transcribers=owns_transcribers,
            temp=temp,
            checkpoint_dir=checkpoint_dir,
        )

    def set_clock(self, now: datetime) -> None:
        self.clock.now = now

    def hear(self, spoken: Spoken) -> Heard:
        audio = None
        if spoken.audio is not None:
            audio = read_wav(spoken.audio, max_seconds=self.pipeline.config.max_audio_seconds)
        return self.pipeline.hear(
            TurnInput(
                device_id=spoken.device_id,
                capture=CaptureContext(
                    trigger=Trigger(spoken.trigger),
                    device_id=spoken.device_id,
                    household=spoken.household,
                    start=spoken.start,
                    end=spoken.end,
                    level=spoken.level,
                ),
                locale=spoken.locale,
                text=spoken.text,
                audio=audio,
                user_id=spoken.user_id,
                session_id=spoken.session_id,
                request=RequestFacts(limit_ad_tracking=spoken.limit_ad_tracking),
            )
        )

    def decide(self, handle: object) -> dict[str, Any]:
        if not isinstance(handle, Heard):
            raise TypeError(f"expected a Heard handle, got {type(handle).__name__}")
        # The server hears a capture once it has ended: its decision is recorded then.
        self.clock.now = max(self.clock.now, handle.turn.capture.end)
        return self.pipeline.decide(handle).to_json()

    def intent(
        self, *, event: Event, at: datetime, user_id: str | None, locale: str, lat: bool | None
    ) -> dict[str, Any]:
        """What the Alexa handlers do with this intent (skill.alexa's own intent tables)."""
        name = event.intent or ""
        if name not in KNOWN_INTENTS:
            raise ScenarioError(f"intent: expected one of {sorted(KNOWN_INTENTS)!r}, got {name!r}")
        kind = QUESTION_INTENTS.get(name)
        command = COMMAND_INTENTS.get(name)
        if kind is None and command is None:
            return self._no_turn(event, user_id=user_id)
        self._ids += 1
        return self.pipeline.handle_intent(
            IntentInput(
                utterance_id=f"sim-intent-{self._ids}-{at.timestamp():.0f}",
                device_id=event.device,
                user_id=user_id,
                session_id=event.session,
                locale=locale,
                at=at,
                intent_name=name,
                kind=kind,
                topic=event.slots.get(PRODUCT_SLOT),
                command=command,
                request=RequestFacts(limit_ad_tracking=lat),
                slots=dict(event.slots),
            )
        ).to_json()

    def _no_turn(self, event: Event, *, user_id: str | None) -> dict[str, Any]:
        """Help, stop, "why did you suggest that": answered, but no decision is made."""
        result: dict[str, Any] = {
            "transcript": event.intent,
            "tag": "prompted",
            "tag_reasons": [ALEXA_REQUEST],
            "question": None,
            "command": None,
            "decision": None,
            "offer": None,
        }
        if event.intent == WHY_SUGGEST_INTENT:
            user = self.pipeline.user_key(user_id=user_id, device_id=event.device)
            last = self.pipeline.last_decision(user_id=user, session_id=event.session)
            if last is None and event.session is not None:
                last = self.pipeline.last_decision(user_id=user, session_id=None)
            result["command"] = "why"
            result["explanation"] = "nothing to explain" if last is None else explain(last)
        return result

    def assistant_asked(self, *, device_id: str, prompt_ended_at: datetime) -> None:
        self.pipeline.assistant_asked(device_id=device_id, prompt_ended_at=prompt_ended_at)

    def declined(
        self, *, device_id: str, user_id: str, offer_id: str, decision_id: str | None
    ) -> None:
        self.pipeline.declined(user_id=user_id, offer_id=offer_id, decision_id=decision_id)

    def set_child_profile(self, user_id: str) -> None:
        self.pipeline.store.set_child_profile(user_id, True, now=self.clock.now)

    def close(self) -> None:
        try:
            if self._checkpoint_dir is not None:
                self.pipeline.store.audit_checkpoint(self._checkpoint_dir)
        finally:
            self._release()

    def _release(self) -> None:
        if self._owns_transcribers:
            self.pipeline.close()
        else:  # shared models (tests, a long-lived process) outlive one run
            self.pipeline.store.close()
        if self._temp is not None:
            self._temp.cleanup()


def _scratch_dir() -> str | None:
    """A RAM-backed directory when there is one: a simulation's store is thrown away anyway."""
    shm = Path("/dev/shm")  # noqa: S108 - only ever the parent of a private mkdtemp directory
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _load_models(loaded: LoadedScenario, settings: Settings) -> TranscriberSet:
    """Load the Vosk models for the locales the scenario has audio in (and no others)."""
    wanted = {
        event.locale or loaded.scenario.locale
        for event in loaded.scenario.events
        if event.audio is not None
    }
    if not wanted:
        return TranscriberSet()
    from askfirst.speech.models import find_model
    from askfirst.speech.vosk_engine import VoskTranscriber

    configured = settings.model_dirs()
    dirs = {locale: configured.get(locale) or find_model(locale) for locale in sorted(wanted)}
    transcribers = TranscriberSet.loading(
        dirs,
        loader=lambda path: VoskTranscriber(
            path, pool_size=settings.pool_size, max_seconds=settings.max_audio_seconds
        ),
    )
    transcribers.wait()
    return transcribers
