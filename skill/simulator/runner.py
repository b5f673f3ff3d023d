"""The local utterance simulator: plays a scenario through the server's own pipeline.

Events are played in time order on a virtual clock. Utterances go through the pipeline's two
phases: before an utterance at time ``t`` is decided, every later utterance starting by
``t + broadcast_window_seconds`` is *heard* first (up to the next non-utterance event), so a TV
heard by three devices at 0.0/0.1/0.2 s is recognised as a broadcast on all three, exactly as
the server sees overlapping requests. Every outcome is the device API's JSON
(``TurnResult.to_json()``), so in-process and ``--url`` runs are compared field by field.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from askfirst.core.errors import CoreError
from askfirst.policy.errors import PolicyError
from askfirst.policy.matching import match_catalog
from askfirst.policy.values import CatalogEntry
from askfirst.skill.simulator.scenario import Event, Expect, LoadedScenario, ScenarioError
from askfirst.store.errors import StoreError
from askfirst.turn.errors import TurnError

logger = logging.getLogger(__name__)

SECONDS_PER_WORD = 0.35
"""Default utterance length per word when an event gives no ``duration``."""
MIN_DURATION = 0.6


@dataclass(frozen=True, slots=True)
class Spoken:
    """A ``say``/``audio`` event made ready for the pipeline."""

    index: int
    device_id: str
    household: str
    """The device's household (its own id when the scenario names none)."""
    user_id: str | None
    session_id: str | None
    locale: str
    trigger: str
    start: datetime
    end: datetime
    text: str | None
    audio: bytes | None
    """The WAV file's bytes."""
    limit_ad_tracking: bool | None
    level: float | None = None
    """The capture's level, when the scenario gives one."""


class Backend(ABC):
    """Where the events go: the pipeline in this process, or a server over HTTP."""

    @abstractmethod
    def hear(self, spoken: Spoken) -> object:
        """Phase one; returns a handle for :meth:`decide`."""

    @abstractmethod
    def decide(self, handle: object) -> dict[str, Any]:
        """Phase two: the turn's JSON result."""

    @abstractmethod
    def intent(
        self, *, event: Event, at: datetime, user_id: str | None, locale: str, lat: bool | None
    ) -> dict[str, Any]:
        """An Alexa IntentRequest's turn result."""

    @abstractmethod
    def assistant_asked(self, *, device_id: str, prompt_ended_at: datetime) -> None: ...

    @abstractmethod
    def declined(
        self, *, device_id: str, user_id: str, offer_id: str, decision_id: str | None
    ) -> None: ...

    @abstractmethod
    def set_child_profile(self, user_id: str) -> None: ...

    @abstractmethod
    def set_clock(self, now: datetime) -> None:
        """Move the virtual clock to ``now`` (only the in-process pipeline has one)."""

    @abstractmethod
    def close(self) -> None:
        """Release what the backend holds."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened at one event, with the expectations that failed."""

    index: int
    line: int
    event: Event
    user: str | None
    result: dict[str, Any] | None
    """The turn's JSON for utterances and intents; None for assistant_asks and decline."""
    failures: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` record of this event."""
        result = self.result or {}
        return {
            "event": self.index,
            "line": self.line,
            "at": self.event.at,
            "device": self.event.device,
            "user": self.user,
            "kind": self.event.kind,
            "said": self.event.say or self.event.assistant_asks or self.event.intent,
            "audio": self.event.audio,
            "transcript": result.get("transcript"),
            "tag": result.get("tag"),
            "tag_reasons": result.get("tag_reasons"),
            "question": result.get("question"),
            "command": result.get("command"),
            "decision": result.get("decision"),
            "offer": result.get("offer"),
            "explanation": result.get("explanation"),
            "expect": None
            if self.event.expect is None
            else self.event.expect.model_dump(exclude_none=True),
            "ok": not self.failures,
            "failures": list(self.failures),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """A whole run."""

    loaded: LoadedScenario
    outcomes: tuple[Outcome, ...]

    @property
    def failures(self) -> tuple[str, ...]:
        return tuple(f for outcome in self.outcomes for f in outcome.failures)

    @property
    def ok(self) -> bool:
        return not self.failures


def simulate(
    loaded: LoadedScenario,
    backend: Backend,
    *,
    start: datetime | None = None,
    broadcast_window_seconds: float = 1.5,
    progress: Callable[[int], None] | None = None,
    catalog: Sequence[CatalogEntry] = (),
) -> Report:
    """Play every event of ``loaded`` through ``backend``; never stops at a failed expectation.

    ``start`` is the time of ``at: 0`` (default: the scenario's ``start``, else
    :func:`default_start`; a server over HTTP gets the real current time, so its own clock
    agrees).

    With the ``catalog`` the scenario runs against, an ``expect.offer`` that names no catalog
    entry is unusable input (ScenarioError listing the ids), and ``expect.question`` is matched
    the way a spoken topic is ("headphones" names "noise cancelling headphones").
    """
    scenario = loaded.scenario
    check_catalog_ids(loaded, catalog)
    t0 = start or scenario.start_time or default_start(datetime.now(UTC))
    backend.set_clock(t0)
    for name, profile in scenario.users.items():
        if profile.child_profile:
            backend.set_child_profile(name)
    spoken = {
        index: _spoken(loaded, index, event, t0)
        for index, event in enumerate(scenario.events)
        if event.kind in ("say", "audio")
    }
    heard: dict[int, object] = {}
    last_decision: dict[str, str] = {}
    outcomes: list[Outcome] = []
    window = broadcast_window_seconds
    for index in range(len(scenario.events)):
        try:
            outcomes.append(
                _play(
                    loaded,
                    index,
                    backend=backend,
                    t0=t0,
                    spoken=spoken,
                    heard=heard,
                    last_decision=last_decision,
                    window=window,
                    catalog=catalog,
                )
            )
        except (TurnError, CoreError, PolicyError, StoreError) as exc:
            raise ScenarioError(
                f"{loaded.source}: line {loaded.lines[index]}: event {index}: {exc}"
            ) from exc
        if progress is not None:
            progress(1)
    return Report(loaded=loaded, outcomes=tuple(outcomes))


def _play(
    loaded: LoadedScenario,
    index: int,
    *,
    backend: Backend,
    t0: datetime,
    spoken: Mapping[int, Spoken],
    heard: dict[int, object],
    last_decision: dict[str, str],
    window: float,
    catalog: Sequence[CatalogEntry] = (),
) -> Outcome:
    """Play one event."""
    scenario = loaded.scenario
    event = scenario.events[index]
    now = t0 + timedelta(seconds=event.at)
    backend.set_clock(now)
    user = _user(loaded, event)
    result: dict[str, Any] | None = None
    if index in spoken:
        for later in _look_ahead(loaded, index, window):
            if later not in heard:
                heard[later] = backend.hear(spoken[later])
        result = backend.decide(heard.pop(index))
    elif event.intent is not None:
        result = backend.intent(
            event=event,
            at=now,
            user_id=user,
            locale=event.locale or scenario.locale,
            lat=_limit_ad_tracking(loaded, event, user),
        )
    elif event.assistant_asks is not None:
        backend.assistant_asked(device_id=event.device, prompt_ended_at=now)
    elif event.decline is not None:
        who = user or f"device:{event.device}"
        backend.declined(
            device_id=event.device,
            user_id=who,
            offer_id=event.decline,
            decision_id=last_decision.get(who),
        )
    if result is not None and result.get("offer"):
        last_decision[user or f"device:{event.device}"] = str(result["decision"]["id"])
    failures: Sequence[str] = ()
    if event.expect is not None and result is not None:
        topic_ids: tuple[str, ...] = ()
        if isinstance(event.expect.question, str) and catalog:
            locale = event.locale or scenario.locale
            topic_ids = match_catalog(event.expect.question, catalog, locale=locale)
        failures = _check(event.expect, result, topic_ids=topic_ids)
    where = f"event {index} (line {loaded.lines[index]}, at {event.at:g}s, {event.device})"
    return Outcome(
        index=index,
        line=loaded.lines[index],
        event=event,
        user=user,
        result=result,
        failures=tuple(f"{where}: {failure}" for failure in failures),
    )


def default_start(now: datetime) -> datetime:
    """01:00 UTC of ``now``'s day: a scenario of up to 23 hours stays within one day's caps."""
    return now.astimezone(UTC).replace(hour=1, minute=0, second=0, microsecond=0)


def _look_ahead(loaded: LoadedScenario, index: int, window: float) -> Iterator[int]:
    """This utterance and later ones it may be a broadcast with, up to the next non-utterance."""
    events = loaded.scenario.events
    limit = events[index].at + window
    for later in range(index, len(events)):
        event = events[later]
        if event.at > limit or event.kind not in ("say", "audio"):
            return
        yield later


def _user(loaded: LoadedScenario, event: Event) -> str | None:
    return event.user or loaded.scenario.user


def _limit_ad_tracking(loaded: LoadedScenario, event: Event, user: str | None) -> bool | None:
    if event.limit_ad_tracking is not None:
        return event.limit_ad_tracking
    profile = loaded.scenario.users.get(user or "")
    return None if profile is None else profile.limit_ad_tracking


def _spoken(loaded: LoadedScenario, index: int, event: Event, t0: datetime) -> Spoken:
    audio: bytes | None = None
    if event.audio is not None:
        path = loaded.resolve(event.audio)
        try:
            audio = path.read_bytes()
        except OSError as exc:
            raise ScenarioError(
                f"{loaded.source}: line {loaded.lines[index]}: event {index}: "
                f"events[{index}].audio: expected a readable WAV file, got {str(path)!r} "
                f"({exc.strerror})"
            ) from exc
    duration = event.duration
    if duration is None:
        if audio is not None:
            duration = _wav_seconds(audio)
        else:
            duration = max(MIN_DURATION, SECONDS_PER_WORD * len((event.say or "").split()))
    start = t0 + timedelta(seconds=event.at)
    user = _user(loaded, event)
    profile = loaded.scenario.devices.get(event.device)
    return Spoken(
        index=index,
        device_id=event.device,
        household=(profile.household if profile is not None else None) or event.device,
        user_id=user,
        session_id=event.session,
        locale=event.locale or loaded.scenario.locale,
        trigger=event.trigger,
        start=start,
        end=start + timedelta(seconds=duration),
        text=event.say,
        audio=audio,
        limit_ad_tracking=_limit_ad_tracking(loaded, event, user),
        level=event.level,
    )


def _wav_seconds(data: bytes) -> float:
    """A WAV's length, or the minimum when it is unreadable (the pipeline then says why)."""
    from askfirst.speech.audio import read_wav
    from askfirst.speech.errors import AudioError

    try:
        return max(read_wav(data, max_seconds=3600.0).duration, 0.01)
    except AudioError:
        return MIN_DURATION


def check_catalog_ids(loaded: LoadedScenario, catalog: Sequence[CatalogEntry]) -> None:
    """Refuse an ``expect.offer`` or ``decline`` naming no entry of ``catalog`` (when given)."""
    if not catalog:
        return
    known = sorted(entry.id for entry in catalog)
    for index, event in enumerate(loaded.scenario.events):
        named = []
        if event.expect is not None and isinstance(event.expect.offer, str):
            named.append(("expect.offer", event.expect.offer))
        if event.decline is not None:
            named.append(("decline", event.decline))
        for field, value in named:
            if value not in known:
                raise ScenarioError(
                    f"{loaded.source}: line {loaded.lines[index]}: event {index}: {field}: "
                    f"expected a catalog id, one of {known!r}, got {value!r}"
                )


def _check(
    expect: Expect, result: Mapping[str, Any], *, topic_ids: Sequence[str] = ()
) -> list[str]:
    """Every way ``result`` differs from ``expect``, in words.

    ``topic_ids`` are the catalog entries ``expect.question`` names, matched as a spoken topic.
    """
    failures = []
    decision = result.get("decision") or {}
    offer = result.get("offer")
    question = result.get("question")
    if expect.tag is not None and result.get("tag") != expect.tag:
        failures.append(
            f"expected tag {expect.tag!r}, got {result.get('tag')!r} "
            f"(reasons: {', '.join(result.get('tag_reasons') or []) or 'none'})"
        )
    reasons = result.get("tag_reasons") or []
    if expect.tag_reason is not None and expect.tag_reason not in reasons:
        failures.append(f"expected tag reason {expect.tag_reason!r} among {reasons!r}")
    if expect.offer is not None:
        got = None if offer is None else offer.get("id")
        wanted_any = expect.offer is True
        if expect.offer is False and got is not None:
            failures.append(f"expected no offer, got offer {got!r}")
        elif (wanted_any and got is None) or (
            isinstance(expect.offer, str) and got != expect.offer
        ):
            wanted = "an offer" if wanted_any else f"offer {expect.offer!r}"
            failures.append(
                f"expected {wanted}, got {'no offer' if got is None else repr(got)} "
                f"(decided by {decision.get('rule')!r}: {_deciding_reason(decision)})"
            )
    if expect.rule is not None and decision.get("rule") != expect.rule:
        failures.append(
            f"expected deciding rule {expect.rule!r}, got {decision.get('rule')!r} "
            f"({_deciding_reason(decision)})"
        )
    if expect.question is not None:
        topic = None if question is None else question.get("topic")
        if expect.question is False and question is not None:
            failures.append(f"expected no question, got a question about {topic!r}")
        elif expect.question is not False and question is None:
            failures.append(f"expected a question about {expect.question!r}, got no question")
        elif isinstance(expect.question, str) and question is not None:
            wanted = expect.question.casefold()
            ids = [str(i).casefold() for i in question.get("catalog_ids") or []]
            named = {i.casefold() for i in topic_ids}
            if (topic or "").casefold() != wanted and wanted not in ids and not named & set(ids):
                failures.append(
                    f"expected a question about {expect.question!r}, got topic {topic!r} "
                    f"(catalog ids {question.get('catalog_ids')!r})"
                )
    if expect.outcome is not None and result.get("outcome") != expect.outcome:
        failures.append(
            f"expected outcome {expect.outcome!r}, got {result.get('outcome')!r} "
            f"(heard by {result.get('heard_by')!r})"
        )
    if expect.command is not None and result.get("command") != expect.command:
        failures.append(f"expected command {expect.command!r}, got {result.get('command')!r}")
    return failures


def _deciding_reason(decision: Mapping[str, Any]) -> str:
    rule = decision.get("rule")
    for reason in decision.get("results") or []:
        if reason.get("rule") == rule:
            return str(reason.get("reason"))
    return "all rules passed" if rule == "permit" else "no reason recorded"
