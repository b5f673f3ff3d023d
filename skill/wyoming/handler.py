"""One Wyoming connection: its events in order, askfirst's answers out.

``describe`` -> ``info``; ``transcribe``, ``audio-start``, ``audio-chunk``..., ``audio-stop`` ->
``transcript-start``, ``transcript-chunk``..., ``transcript``, ``transcript-stop``; a
``transcript`` sent *to* askfirst is a conversation turn -> ``handled`` or ``not-handled``;
``detection`` and ``run-pipeline`` before audio or text say how the next utterance began.

Every refusal is one ``error`` event. The connection then stays usable, except when the peer
is waiting for a transcript (Home Assistant's speech-to-text ignores ``error`` and would wait
until its own timeout) or the framing is lost: then askfirst closes it after the error.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.pipeline import RunPipeline
from wyoming.server import AsyncEventHandler
from wyoming.wake import Detection

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.errors import CoreError
from askfirst.policy.detector import Command
from askfirst.policy.errors import PolicyError
from askfirst.skill.logs import decision_id_var, request_id_var
from askfirst.skill.request_text import find_bad_text
from askfirst.skill.wyoming.conversion import format_of
from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.events import answer, locale_for
from askfirst.skill.wyoming.identity import Identity, Signals, TriggerFacts, identify, trigger_of
from askfirst.skill.wyoming.reader import read_event
from askfirst.skill.wyoming.recall import HeardFacts
from askfirst.skill.wyoming.service import Service
from askfirst.skill.wyoming.utterance import Utterance
from askfirst.speech.locale import known_locales
from askfirst.turn.errors import TurnError
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import Heard, TurnInput, TurnResult

logger = logging.getLogger(__name__)

IGNORED = frozenset(
    {
        "select-program",  # one program of each kind: nothing to select
        "run-satellite",
        "pause-satellite",
        "satellite-connected",
        "satellite-disconnected",
        "streaming-started",
        "streaming-stopped",
        "pong",
    }
)
"""Wyoming events askfirst has no use for; accepted and ignored, as the protocol asks."""
STAGES = ("wake", "asr", "intent", "handle", "tts")
UTTERANCE_IDLE_SECONDS = 10.0
"""An open utterance holds a recogniser: a peer silent this long mid-utterance is closed."""


def _field(data: dict[str, Any], name: str, kind: type, event: str) -> Any:
    value = data.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise WyomingError(
            f"{event}.{name}: expected a {kind.__name__} or nothing, got {value!r}",
            code="bad-event",
        )
    return value


class Connection(AsyncEventHandler):
    """The state of one peer connection; the service's state is shared by all of them."""

    def __init__(
        self, service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.service = service
        peer = writer.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else "local"
        self._signals = Signals()
        self._started: TriggerFacts | None = None
        """The trigger of the utterance being streamed, fixed at its ``audio-start``."""
        self._transcribe: Transcribe | None = None
        self._utterance: Utterance | None = None
        self._stream_language: str | None = None
        self._identity: Identity | None = None
        self._writes: set[asyncio.Task[None]] = set()
        """``transcript-chunk`` writes in flight (kept referenced until they finish)."""

    # -- reading -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Read with the size-checked reader instead of the library's unbounded one."""
        self._is_running = True
        try:
            while self._is_running:
                try:
                    event = await asyncio.wait_for(
                        read_event(self.reader, self.service.limits),
                        None if self._utterance is None else UTTERANCE_IDLE_SECONDS,
                    )
                except TimeoutError:
                    await self._refuse(
                        WyomingError(
                            f"expected audio or audio-stop within {UTTERANCE_IDLE_SECONDS:g} s "
                            "of the last chunk, got nothing; the utterance is dropped",
                            code="utterance-timeout",
                            closes=True,
                        )
                    )
                    break
                except WyomingError as exc:
                    if not await self._refuse(exc):
                        break
                    continue
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                if event is None or not await self.handle_event(event):
                    break
        finally:
            await self._drop_utterance()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        """Answer one event; False closes the connection."""
        try:
            return await self._dispatch(event)
        except WyomingError as exc:
            return await self._refuse(exc)
        except (TurnError, CoreError, PolicyError) as exc:
            code = str(getattr(exc, "code", "refused")).replace("_", "-")
            return await self._refuse(WyomingError(f"{event.type}: {exc}", code=code))
        except (ConnectionError, asyncio.IncompleteReadError):
            return False
        except Exception:  # one bad turn must not take the server down; logged in full
            logger.exception("wyoming: %s from %s failed", event.type, self.peer)
            return await self._refuse(
                WyomingError(f"{event.type}: askfirst failed on its side", code="internal-error")
            )

    async def _refuse(self, exc: WyomingError) -> bool:
        """Send ``error``; close when the framing is lost or a transcript is awaited."""
        closes = exc.closes or self._transcribe is not None
        await self._drop_utterance()
        self._transcribe = None
        logger.info("wyoming: refused %s from %s: %s", exc.code, self.peer, exc.message)
        try:
            await self.write_event(Error(text=exc.message, code=exc.code).event())
        except ConnectionError:
            return False
        return not closes

    async def _drop_utterance(self) -> None:
        utterance, self._utterance = self._utterance, None
        if utterance is not None:
            await utterance.close()

    async def _send_quietly(self, event: Event) -> None:
        """Write an event the peer may no longer want (it may close after ``transcript``)."""
        try:
            await self.write_event(event)
        except ConnectionError:
            logger.debug("wyoming: %s closed before %s", self.peer, event.type)

    # -- dispatch ----------------------------------------------------------------------------

    async def _dispatch(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self.write_event(self.service.info_event)
        elif Ping.is_type(kind):
            await self.write_event(Pong(text=_field(event.data, "text", str, kind)).event())
        elif Detection.is_type(kind):
            name = _field(event.data, "name", str, kind)
            self._signals = Signals(wake_word=name or "", start_stage=self._signals.start_stage)
        elif RunPipeline.is_type(kind):
            stage = event.data.get("start_stage")
            if stage not in STAGES:
                raise WyomingError(
                    f"run-pipeline.start_stage: expected one of {STAGES!r}, got {stage!r}",
                    code="bad-event",
                )
            self._signals = Signals(wake_word=self._signals.wake_word, start_stage=stage)
        elif Transcribe.is_type(kind):
            await self._on_transcribe(event)
        elif AudioStart.is_type(kind):
            await self._on_audio_start(event)
        elif AudioChunk.is_type(kind):
            await self._on_audio_chunk(event)
        elif AudioStop.is_type(kind):
            await self._on_audio_stop()
        elif Transcript.is_type(kind):
            await self._on_turn(event)
        elif kind not in IGNORED:
            raise WyomingError(
                f"expected a Wyoming event askfirst serves (describe, transcribe, audio-start, "
                f"audio-chunk, audio-stop, transcript, detection, run-pipeline, ping), got "
                f"{kind[:64]!r}",
                code="unknown-event",
            )
        return True

    # -- speech to text ----------------------------------------------------------------------

    async def _on_transcribe(self, event: Event) -> None:
        if self._utterance is not None:
            raise WyomingError(
                "transcribe: expected it before audio-start, got it during an utterance",
                code="transcribe-during-audio",
            )
        _field(event.data, "language", str, "transcribe")
        _field(event.data, "context", dict, "transcribe")
        self._transcribe = Transcribe.from_event(event)

    async def _on_audio_start(self, event: Event) -> None:
        if self._utterance is not None:
            raise WyomingError(
                "audio-start: expected audio-stop to end the utterance first, got a second "
                "audio-start",
                code="audio-start-during-audio",
            )
        request_id_var.set(uuid.uuid4().hex)
        decision_id_var.set(None)
        audio_format = format_of(AudioStart.from_event(event))
        service = self.service
        request = self._transcribe or Transcribe()
        locale = locale_for(
            request.language, known=service.asr_locales, default=service.default_asr_locale
        )
        transcriber = service.pipeline.transcribers.for_locale(locale)
        self._identity = identify(
            request.context,
            listener=service.listener,
            devices=service.settings.wyoming_devices,
            tokens=service.tokens,
        )
        # A wake word (a detection, or a pipeline started at wake) could have come from a
        # loudspeaker: its opening seconds are registered for broadcast detection as they
        # arrive. Other captures are not fingerprinted at all.
        # What was said before the audio describes it: the trigger is fixed here, so the
        # opening registered (or not) and the turn's trigger cannot disagree.
        self._started = trigger_of(self._signals, service.listener)
        could_be_broadcast = self._started.trigger is Trigger.WAKE_WORD
        utterance = Utterance(
            audio_format=audio_format,
            max_seconds=service.settings.max_audio_seconds,
            device_id=self._identity.device_id,
            household=self._identity.device.household,
            utterance_id=uuid.uuid4().hex,
            started_at=datetime.now(UTC),
            opening=service.opening if could_be_broadcast else None,
            locale=locale,
            on_words=self._words,
        )
        await utterance.open(transcriber)
        self._utterance = utterance
        self._stream_language = request.language or locale
        await self.write_event(TranscriptStart(language=self._stream_language).event())

    async def _on_audio_chunk(self, event: Event) -> None:
        if self._utterance is None:
            raise WyomingError(
                "audio-chunk: expected audio-start first, got audio with no utterance open",
                code="audio-before-start",
            )
        if event.payload is None:
            raise WyomingError(
                "audio-chunk: expected PCM in the payload, got none", code="no-audio"
            )
        for name in ("rate", "width", "channels"):
            if not isinstance(event.data.get(name), int):
                raise WyomingError(
                    f"audio-chunk.{name}: expected an integer, got {event.data.get(name)!r}",
                    code="bad-event",
                )
        await self._utterance.feed(AudioChunk.from_event(event))

    def _words(self, news: str) -> None:
        """New words while the audio streams (called on the loop by the utterance): sent as a
        ``transcript-chunk`` from a task of its own, so reading goes on meanwhile. Events are
        written whole and in order: the task writes before anything awaited after it."""
        task = asyncio.get_running_loop().create_task(
            self._send_quietly(TranscriptChunk(text=news).event())
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _on_audio_stop(self) -> None:
        utterance = self._utterance
        if utterance is None:
            raise WyomingError(
                "audio-stop: expected audio-start first, got no utterance open",
                code="audio-before-start",
            )
        stopped = time.monotonic()
        transcript = await utterance.finish()
        self._utterance = None
        self.service.transcribed(
            locale=utterance.locale,
            audio_seconds=utterance.seconds,
            seconds=utterance.transcribing_seconds,
            after_stop=time.monotonic() - stopped,
        )
        facts = self._started or trigger_of(self._signals, self.service.listener)
        self._started = None
        self.service.recall.heard(
            peer=self.peer,
            text=transcript.text,
            facts=HeardFacts(
                trigger=facts,
                start=utterance.started_at,
                end=datetime.now(UTC),
                utterance_id=utterance.utterance_id,
                device_id=utterance.device_id,
            ),
        )
        self._signals = Signals()
        request, self._transcribe = self._transcribe, None
        context: dict[str, Any] = dict((request.context if request else None) or {})
        identity = self._identity
        context["askfirst"] = {
            "trigger": facts.trigger.value,
            "trigger_source": facts.source,
            "device_id": None if identity is None else identity.device_id,
        }
        await self.write_event(
            Transcript(
                text=transcript.text, language=self._stream_language, context=context
            ).event()
        )
        await self._send_quietly(TranscriptStop().event())

    # -- conversation ------------------------------------------------------------------------

    async def _on_turn(self, event: Event) -> None:
        began = time.monotonic()
        request_id_var.set(uuid.uuid4().hex)
        decision_id_var.set(None)
        text = event.data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise WyomingError(
                f"transcript.text: expected the words to answer, got {text!r}",
                code="bad-transcript",
            )
        language = _field(event.data, "language", str, "transcript")
        context: dict[str, Any] = dict(_field(event.data, "context", dict, "transcript") or {})
        bad = find_bad_text({"text": text, "context": context}, where="transcript")
        if bad is not None:
            raise WyomingError(bad.message(), code="bad-transcript")
        service = self.service
        identity = identify(
            context,
            listener=service.listener,
            devices=service.settings.wyoming_devices,
            tokens=service.tokens,
        )
        conversation = _field(context, "conversation_id", str, "transcript.context")
        now = datetime.now(UTC)
        utterance_id: str | None = None
        opened_on: str | None = None
        facts: TriggerFacts
        start = end = now
        heard = service.recall.take_heard(peer=self.peer, text=text)
        if conversation and service.recall.take_follow_up(
            conversation_id=conversation, device_id=identity.device_id
        ):
            facts = TriggerFacts(Trigger.FOLLOW_UP, None, "conversation_id")
        elif heard is not None:
            facts, start, end = heard.trigger, heard.start, heard.end
            utterance_id, opened_on = heard.utterance_id, heard.device_id
        else:
            facts = trigger_of(self._signals, service.listener)
        self._signals = Signals()
        turn = TurnInput(
            device_id=identity.device_id,
            capture=CaptureContext(
                trigger=facts.trigger,
                device_id=identity.device_id,
                household=identity.device.household,
                start=start,
                end=end,
            ),
            locale=locale_for(language, known=known_locales(), default=service.default_locale),
            text=text,
            session_id=conversation,
            wake_word_verified=facts.wake_word_verified,
            utterance_id=utterance_id,
            opened_on=opened_on,
        )
        pipeline = service.pipeline
        result = await _handle(pipeline, turn)
        last = None
        if result.command is Command.WHY:
            user = pipeline.user_key(user_id=None, device_id=identity.device_id)
            last = await asyncio.to_thread(pipeline.last_decision, user_id=user, session_id=None)
        said = answer(result, context=context, last=last)
        decision_id_var.set(None if result.decision is None else result.decision.id)
        logger.info(
            "wyoming: turn %s on %r (%s via %s): %s",
            result.utterance.id,
            identity.device_id,
            facts.trigger.value,
            facts.source,
            said.event.type,
        )
        asks_back = said.asks_back and conversation
        if asks_back:
            service.recall.asked(
                conversation_id=conversation,
                device_id=identity.device_id,
                seconds=service.settings.listening_window_seconds,
            )
        service.answered(time.monotonic() - began)  # before the peer can read the answer
        await self.write_event(said.event)
        if asks_back:
            # After the answer, not before it: the window must exist by the user's next turn,
            # which comes only once the reply has been spoken.
            await asyncio.to_thread(
                pipeline.assistant_asked,
                device_id=identity.device_id,
                prompt_ended_at=datetime.now(UTC),
            )


async def _handle(pipeline: Pipeline, turn: TurnInput) -> TurnResult:
    """Hear, wait for other devices' reports on the event loop (never in a thread), decide.
    A turn with nothing to wait for is heard and decided in one trip to a worker thread."""
    heard, result = await asyncio.to_thread(_hear_or_decide, pipeline, turn)
    if result is not None:
        return result
    if wait := pipeline.seconds_to_wait(heard):
        await asyncio.sleep(wait)
    return await asyncio.to_thread(pipeline.decide, heard)


def _hear_or_decide(pipeline: Pipeline, turn: TurnInput) -> tuple[Heard, TurnResult | None]:
    """Hear ``turn``, and decide it at once when :meth:`Pipeline.decide_at` says it need not
    wait (saves a hop back to the loop and out again)."""
    heard = pipeline.hear(turn)
    if pipeline.decide_at(heard) is None:
        return heard, pipeline.decide(heard)
    return heard, None
