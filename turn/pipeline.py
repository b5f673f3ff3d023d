"""One turn, end to end: hear (transcribe, spot), tag, detect, decide, record.

The device API, the Alexa handlers and the simulator all call this module, so the simulator runs
exactly the server's code path. The order of the steps is the privacy argument:

* the tag is decided from capture events before anything looks at the words;
* only a prompted utterance's text ever reaches the question detector;
* evidence carries the utterance's own tag as its provenance, so ambient speech can only ever
  be ambient evidence, which the policy refuses;
* what reaches the store is ``utterance.redacted()``, and the store itself refuses ambient text;
* the decision and its audit record are written in one transaction: no offer without its record.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from askfirst.core.capture import Trigger
from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.core.tags import UtteranceTag
from askfirst.core.windows import ListeningWindow, open_window
from askfirst.policy.config import Policy
from askfirst.policy.detector import Command, detect, detect_command, question_for_topic
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.values import (
    Decision,
    Evidence,
    NoQuestion,
    Provenance,
    Question,
    RequestFacts,
    Utterance,
)
from askfirst.speech.audio import Audio
from askfirst.speech.broadcast import Hearing, Outcome, resolve
from askfirst.speech.locale import SpeechLocale, load_locale
from askfirst.speech.shingles import text_fingerprint
from askfirst.speech.tagging import TagResult, mentions_wake_word, tag_utterance, wake_word_opens
from askfirst.speech.transcriber import Transcript
from askfirst.store.interface import Store, TurnTx
from askfirst.turn.config import TurnConfig
from askfirst.turn.errors import TurnError
from askfirst.turn.observer import TurnObserver
from askfirst.turn.transcribers import TranscriberSet
from askfirst.turn.values import (
    ALEXA_REQUEST,
    Deferred,
    Heard,
    IntentInput,
    TurnInput,
    TurnResult,
)

logger = logging.getLogger(__name__)

KNOWN_MEDIA_SECONDS = 5.0
"""How long a process keeps its copy of the registered media before reading them again."""

PEER_PAGE = 64
"""Captures read from the registry at a time while comparing (see ``Pipeline._peers``)."""

_HOLD_TRIGGERS = frozenset({Trigger.WAKE_WORD, Trigger.NONE})
"""Triggers a loudspeaker can fake, so a broadcast check applies before deciding."""


def _may_be_broadcast(trigger: Trigger, text: str, locale: SpeechLocale) -> bool:
    """Whether this capture could be prompted and a loudspeaker could have caused it.

    Only such captures are fingerprinted for broadcast detection: chatter without the wake word
    on a continuous-capture device is ambient whatever other devices heard, so not even an HMAC
    of it is kept; a push-to-talk press cannot come from a loudspeaker.
    """
    if not text or trigger is Trigger.PUSH_TO_TALK:
        return False
    if trigger is Trigger.NONE:
        return mentions_wake_word(text, locale)
    return True


def scoped_id(device_id: str, utterance_id: str) -> str:
    """A device's own utterance id, kept as ``<device>/<id>`` so devices never share ids.

    The device id is percent-encoded, so the first ``/`` always ends it: no two (device, id)
    pairs give the same key, and a retry refused as a duplicate can only name this device's
    own earlier decision.
    """
    return f"{quote(device_id, safe='')}/{utterance_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


class Pipeline:
    """Turns captured speech and Alexa intents into recorded decisions."""

    def __init__(
        self,
        *,
        policy: Policy,
        store: Store,
        transcribers: TranscriberSet,
        config: TurnConfig,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        new_id: Callable[[], str] = _new_id,
        observer: TurnObserver | None = None,
    ) -> None:
        self.policy = policy
        self.store = store
        self.transcribers = transcribers
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._new_id = new_id
        self._broadcast_key = config.broadcast_key
        self._media_cache: tuple[float, list[KnownMedia]] | None = None
        self.observer = observer
        """Told of every decided turn and transcription (metrics, logs); None for nobody."""

    @property
    def ready(self) -> bool:
        """True once every configured speech model is loaded."""
        return self.transcribers.ready

    def readiness(self) -> dict[str, bool]:
        """What ``/readyz`` reports: models loaded, the store answers, a write commits."""
        reachable = self.store.ping()
        return {
            "models": self.transcribers.ready,
            "store": reachable,
            "writes": reachable and self.store.writable(),
        }

    def close(self) -> None:
        self.transcribers.close()
        self.store.close()

    # -- phase one -------------------------------------------------------------------------

    def hear(self, turn: TurnInput) -> Heard:
        """Transcribe (when audio came), spot the wake word, register the broadcast fingerprint.

        A wake-word audio capture registers its acoustic print before it is transcribed, so the
        wait for other devices' reports (:meth:`decide_at`) runs while the recogniser works.
        """
        if (turn.text is None) == (turn.audio is None):
            raise TurnError(
                "expected exactly one of 'text' or 'audio', got "
                f"{'both' if turn.text is not None else 'neither'}",
                code="bad_utterance",
                status=422,
            )
        self._check_time("capture.start", turn.capture.start)
        locale = load_locale(turn.locale)
        utterance_id = (
            self._new_id()
            if turn.utterance_id is None
            else scoped_id(turn.device_id, turn.utterance_id)
        )
        if turn.utterance_id is not None:
            # A retry is refused before it notes or transcribes anything (the turn's
            # transaction checks again).
            _refuse_retry(utterance_id, self.store.decision_for(utterance_id))
            if turn.opened_on is not None and turn.opened_on != turn.device_id:
                self.store.move_capture(
                    device_id=turn.opened_on,
                    utterance_id=scoped_id(turn.opened_on, turn.utterance_id),
                    to_device=turn.device_id,
                    to_household=turn.household,
                    to_utterance_id=utterance_id,
                )
        audio_print = b""
        peer = None
        if turn.capture.trigger is Trigger.WAKE_WORD:
            audio_print = self._audio_print(turn)
        if audio_print:
            peer = self._note(turn, utterance_id, text_print=b"", audio_print=audio_print)
        spotted: bool | None = None
        if turn.audio is not None:
            transcriber = self.transcribers.for_locale(locale.code)
            started = time.perf_counter()
            transcript = transcriber.transcribe(turn.audio)
            self._observe_transcription(locale.code, turn.audio.duration, started)
            if turn.capture.trigger is Trigger.WAKE_WORD:
                spot = transcriber.spot(
                    turn.audio, phrases=locale.spotting_phrases, seconds=locale.spot_seconds
                )
                spotted = wake_word_opens(spot.text, locale)
        else:
            transcript = Transcript(text=(turn.text or "").strip(), words=())
            if turn.capture.trigger is Trigger.WAKE_WORD:
                spotted = turn.wake_word_verified
        if _may_be_broadcast(turn.capture.trigger, transcript.text, locale):
            peer = self._note(
                turn,
                utterance_id,
                text_print=text_fingerprint(transcript.text, key=self._broadcast_key).to_bytes(),
                audio_print=audio_print or self._audio_print(turn),
            )
        return Heard(
            turn=turn,
            utterance_id=utterance_id,
            locale=locale,
            transcript=transcript,
            wake_word_spotted=spotted,
            peer=peer,
        )

    def _audio_print(self, turn: TurnInput) -> bytes:
        """Keyed landmarks of a capture a loudspeaker could have caused (empty otherwise)."""
        if turn.audio is None or turn.capture.trigger not in _HOLD_TRIGGERS:
            return b""
        from askfirst.speech.acoustic import acoustic_fingerprint  # numpy: the speech extra

        return acoustic_fingerprint(
            turn.audio.pcm, turn.audio.sample_rate, key=self._broadcast_key
        ).to_bytes()

    def _note(
        self, turn: TurnInput, utterance_id: str, *, text_print: bytes, audio_print: bytes
    ) -> PeerCapture:
        """Register this capture's keyed prints (a later call with more adds to the same entry)."""
        return self.store.note_capture(
            PeerCapture(
                device_id=turn.device_id,
                household=turn.household,
                utterance_id=utterance_id,
                at=turn.capture.start,
                text_print=text_print,
                audio_print=audio_print,
                level=turn.capture.level,
            ),
            now=self._clock(),
            keep_seconds=self._keep_seconds,
        )

    @property
    def _keep_seconds(self) -> float:
        return max(10.0, 4 * self.config.broadcast_window_seconds)

    def decide_at(self, heard: Heard) -> datetime | None:
        """When ``heard`` may be decided, or None when it may be decided now.

        Counted from when this server first registered the capture's prints (``noted_at``),
        not from the capture's start: other devices that heard the same sound report when
        their captures end, about when this one's did, but a moment later as often as a
        moment sooner, and a report decided before they are in would answer a loudspeaker.
        So every capture that could be a broadcast waits ``broadcast_hold_seconds`` after its
        first registration, however long it was. A streaming edge registers a capture's
        opening while the person is still speaking (:meth:`note_opening`), so by the end of a
        longer utterance that wait is over. See docs/architecture.md, "Waiting for other
        devices".
        """
        if heard.peer is None or heard.turn.capture.trigger not in _HOLD_TRIGGERS:
            return None
        now = self._clock()
        noted = heard.peer.noted_at or now
        # Never longer than the hold from now: a registration time ahead of this clock (another
        # instance's clock running ahead) must not park a turn.
        deadline = min(noted, now) + timedelta(seconds=self.config.broadcast_hold_seconds)
        return deadline if deadline > now else None

    def seconds_to_wait(self, heard: Heard) -> float:
        """Seconds from now until :meth:`decide_at` (0.0 when ``heard`` may be decided now)."""
        deadline = self.decide_at(heard)
        return 0.0 if deadline is None else max(0.0, (deadline - self._clock()).total_seconds())

    def note_opening(
        self,
        *,
        device_id: str,
        household: str,
        utterance_id: str,
        at: datetime,
        audio: Audio,
        level: float | None = None,
    ) -> PeerCapture | None:
        """Register the acoustic print of a capture's opening seconds while it still streams
        (None when the opening holds no landmarks: silence registers nothing).

        The turn that later hears the whole capture with the same device and ``utterance_id``
        keeps this registration's report order and time, and its whole prints replace these:
        the wait for peers is then counted from here (:meth:`decide_at`). Only captures that
        could be prompted by a loudspeaker should be noted (wake word or none).
        """
        self._check_time("capture.start", at)
        from askfirst.speech.acoustic import acoustic_fingerprint  # numpy: the speech extra

        print_ = acoustic_fingerprint(audio.pcm, audio.sample_rate, key=self._broadcast_key)
        if len(print_) == 0:
            return None  # silence so far: nothing to compare; the whole turn registers itself
        return self.store.note_capture(
            PeerCapture(
                device_id=device_id,
                household=household,
                utterance_id=scoped_id(device_id, utterance_id),
                at=at,
                audio_print=print_.to_bytes(),
                level=level,
            ),
            now=self._clock(),
            keep_seconds=self._keep_seconds,
        )

    # -- phase two -------------------------------------------------------------------------

    def decide(self, heard: Heard) -> TurnResult:
        """Tag, detect and decide one heard utterance, and record the decision.

        The duplicate check, taking the device's follow-up window and recording happen in one
        transaction: a refused retry (409) rolls back and leaves the window for the real
        follow-up.
        """
        turn = heard.turn
        capture = turn.capture
        hearing = Hearing(Outcome.ALONE)
        if heard.peer is not None:
            seconds = self.config.broadcast_window_seconds
            hearing = resolve(
                me=heard.peer,
                peers=self._peers(
                    around=capture.start, seconds=seconds, exclude_device=turn.device_id
                ),
                known_media=self._known_media(),
                window_seconds=seconds,
            )
        if hearing.outcome is Outcome.ANSWERED_ELSEWHERE:
            return self._answered_elsewhere(heard, hearing)
        with self._turn(
            user_id=turn.user_id, device_id=turn.device_id, session_id=turn.session_id
        ) as tx:
            _refuse_retry(heard.utterance_id, tx.decision_for(heard.utterance_id))
            window = None
            if capture.trigger is Trigger.FOLLOW_UP:
                window = tx.take_window(device_id=turn.device_id, now=capture.start)
            tag = tag_utterance(
                capture=capture,
                text=heard.transcript.text,
                locale=heard.locale,
                window=window,
                wake_word_spotted=heard.wake_word_spotted,
                broadcast=hearing.outcome is Outcome.BROADCAST,
                known_media=hearing.outcome is Outcome.KNOWN_MEDIA,
            )
            utterance = _utterance(heard, tag)
            # Only a prompted utterance's words are ever read for meaning.
            command: Command | None = None
            question: Question | None = None
            no_question: NoQuestion | None = None
            if utterance.tag is UtteranceTag.PROMPTED:
                command = detect_command(text=utterance.text, locale=heard.locale.code)
                if command is None:
                    found = detect(
                        text=utterance.text,
                        utterance_id=utterance.id,
                        locale=heard.locale.code,
                        catalog=self.policy.catalog,
                    )
                    question, no_question = found.question, found.no
            decision = self._decide_and_record(
                tx,
                utterance=utterance,
                question=question,
                no_question=no_question,
                command=command,
                provenance=Provenance(utterance.tag.value),
                request=turn.request,
                context={
                    "household": capture.household,
                    "trigger": capture.trigger.value,
                },
            )
            if heard.peer is not None:
                tx.mark_answered(device_id=turn.device_id, utterance_id=utterance.id)
        return self._observed(
            TurnResult(
                utterance=utterance,
                transcript=heard.transcript.text,
                words=heard.transcript.words,
                tag=tag,
                question=question,
                command=command,
                decision=decision,
                hearing=hearing,
                no_question=no_question,
            )
        )

    def _answered_elsewhere(self, heard: Heard, hearing: Hearing) -> TurnResult:
        """One person heard by two speakers of one home: another speaker answers. Nothing is
        detected, decided, offered, recorded or counted against caps here; the tag is what the
        capture events said, so a caller can show that the question was heard."""
        capture = heard.turn.capture
        tag = tag_utterance(
            capture=capture,
            text=heard.transcript.text,
            locale=heard.locale,
            window=None,
            wake_word_spotted=heard.wake_word_spotted,
            broadcast=False,
        )
        return TurnResult(
            utterance=_utterance(heard, tag),
            transcript=heard.transcript.text,
            words=heard.transcript.words,
            tag=tag,
            question=None,
            command=None,
            decision=None,
            hearing=hearing,
        )

    def _peers(
        self, *, around: datetime, seconds: float, exclude_device: str
    ) -> Iterator[PeerCapture]:
        """Other devices' captures around ``around``, read a page at a time as they are compared:
        in a broadcast storm (thousands of devices heard one advert) the comparison settles
        after a few, and the rest are never read."""
        after = 0
        while True:
            page = self.store.peers(
                around=around,
                seconds=seconds,
                exclude_device=exclude_device,
                after_seq=after,
                limit=PEER_PAGE,
            )
            yield from page
            if len(page) < PEER_PAGE:
                return
            after = page[-1].seq

    def _known_media(self) -> list[KnownMedia]:
        """The registered media, re-read at most every ``KNOWN_MEDIA_SECONDS``."""
        now = time.monotonic()
        cached = self._media_cache
        if cached is None or now - cached[0] > KNOWN_MEDIA_SECONDS:
            cached = (now, self.store.known_media())
            self._media_cache = cached
        return cached[1]

    def handle(self, turn: TurnInput) -> TurnResult:
        """Hear, let other devices report the same sound until :meth:`decide_at`, then decide.

        The wait (``broadcast_hold_seconds`` from the capture's first registration, for
        captures a loudspeaker could have caused) is slept in the calling thread; callers that
        can send the capture again use :meth:`handle_or_defer` and callers on an event loop
        await the wait themselves (hear, :meth:`decide_at`, decide), so no thread waits.
        """
        heard = self.hear(turn)
        if wait := self.seconds_to_wait(heard):
            self._sleep(wait)
        return self.decide(heard)

    def handle_or_defer(self, turn: TurnInput) -> TurnResult | Deferred:
        """:meth:`handle` without the wait: a text turn that must still wait for other devices'
        reports is registered and answered with a :class:`Deferred` saying when to send it
        again, with the same ``utterance_id`` (the device API's 202); the resend is decided.
        An audio turn sleeps what is left of its wait instead (see :meth:`hear`)."""
        if turn.utterance_id is None:
            turn = replace(turn, utterance_id=self._new_id())
        heard = self.hear(turn)
        deadline = self.decide_at(heard)
        if deadline is None:
            return self.decide(heard)
        if turn.audio is not None:
            # Audio registered itself before its transcription, which used most of the wait;
            # sending the audio again would cost a second transcription: sleep the rest.
            if wait := self.seconds_to_wait(heard):
                self._sleep(wait)
            return self.decide(heard)
        return Deferred(
            utterance_id=turn.utterance_id or heard.utterance_id,
            decide_at=deadline,
            retry_after=(deadline - self._clock()).total_seconds(),
        )

    def handle_intent(
        self,
        intent: IntentInput,
        *,
        asks_back: Callable[[Decision, Question | None], bool] | None = None,
    ) -> TurnResult:
        """Decide an Alexa intent: prompted by construction, its slots are the question.

        ``asks_back(decision, question)`` says whether the reply will end in a question; when it
        does, the device's follow-up window opens in the turn's own transaction (as
        ``assistant_asked`` would, without a second commit).
        """
        text = (
            intent.intent_name if intent.topic is None else f"{intent.intent_name}: {intent.topic}"
        )
        tag = TagResult(tag=UtteranceTag.PROMPTED, reasons=(ALEXA_REQUEST,), window_used=None)
        utterance = Utterance(
            id=intent.utterance_id,
            text=text,
            locale=intent.locale,
            tag=tag.tag,
            tag_reasons=tag.reasons,
            at=intent.at,
            device_id=intent.device_id,
            user_id=intent.user_id,
            session_id=intent.session_id,
        )
        question = None
        if intent.kind is not None:
            question = question_for_topic(
                kind=intent.kind,
                topic=intent.topic,
                utterance_id=utterance.id,
                catalog=self.policy.catalog,
                locale=intent.locale,
            )
        with self._turn(
            user_id=intent.user_id, device_id=intent.device_id, session_id=intent.session_id
        ) as tx:
            _refuse_retry(utterance.id, tx.decision_for(utterance.id))
            decision = self._decide_and_record(
                tx,
                utterance=utterance,
                question=question,
                command=intent.command,
                provenance=Provenance.ALEXA_INTENT,
                request=intent.request,
                asks_back=asks_back,
                context={"intent": {"name": intent.intent_name, "slots": dict(intent.slots)}},
            )
        return self._observed(
            TurnResult(
                utterance=utterance,
                transcript=text,
                words=(),
                tag=tag,
                question=question,
                command=intent.command,
                decision=decision,
            )
        )

    def _observed(self, result: TurnResult) -> TurnResult:
        """Tell the observer of a decided turn; its failure is logged, never the turn's."""
        if self.observer is not None:
            try:
                self.observer.turn_decided(result)
            except Exception:  # watching must never change what was decided
                logger.exception("turn observer failed on utterance %s", result.utterance.id)
        return result

    def _observe_transcription(self, locale: str, audio_seconds: float, started: float) -> None:
        if self.observer is None:
            return
        try:
            self.observer.transcribed(
                locale=locale, audio_seconds=audio_seconds, seconds=time.perf_counter() - started
            )
        except Exception:  # watching must never fail a transcription
            logger.exception("turn observer failed on a %s transcription", locale)

    def _decide_and_record(
        self,
        tx: TurnTx,
        *,
        utterance: Utterance,
        question: Question | None,
        command: Command | None,
        provenance: Provenance,
        request: RequestFacts,
        asks_back: Callable[[Decision, Question | None], bool] | None = None,
        no_question: NoQuestion | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Decision:
        evidence = (
            Evidence(
                id=f"{utterance.id}/utterance",
                provenance=provenance,
                utterance_ids=(utterance.id,),
                detail="" if question is None else question.cue,
            ),
        )
        if command is Command.OPT_OUT or command is Command.OPT_IN:
            tx.set_opt_out(command is Command.OPT_OUT)
        state = tx.user_state()
        offer = propose_offer(question=question, policy=self.policy, user=state)
        decision = decide(
            decision_id=self._new_id(),
            utterance=utterance,
            question=question,
            offer=offer,
            evidence=evidence,
            user=state,
            request=request,
            policy=self.policy,
            no_question=no_question,
        )
        tx.keep_policy(self.policy, decision_id=decision.id)
        tx.record(utterance=utterance.redacted(), decision=decision, consent=state, context=context)
        if asks_back is not None and asks_back(decision, question):
            tx.open_window(self._follow_up_window(utterance.device_id, self._clock()))
        return decision

    @contextmanager
    def _turn(
        self, *, user_id: str | None, device_id: str, session_id: str | None
    ) -> Iterator[TurnTx]:
        with self.store.turn(
            user_id=self.user_key(user_id=user_id, device_id=device_id),
            session_id=session_id,
            now=self._clock(),
        ) as tx:
            yield tx

    @staticmethod
    def user_key(*, user_id: str | None, device_id: str) -> str:
        """Consent and caps belong to the user; an anonymous device stands for its user."""
        return user_id if user_id else f"device:{device_id}"

    # -- conversation state ----------------------------------------------------------------

    def assistant_asked(self, *, device_id: str, prompt_ended_at: datetime) -> ListeningWindow:
        """The assistant asked this device's user something: open a single-use follow-up window."""
        self._check_time("prompt_ended_at", prompt_ended_at)
        window = self._follow_up_window(device_id, prompt_ended_at)
        self.store.put_window(window)
        return window

    def _check_time(self, name: str, value: datetime) -> None:
        """Refuse a device time far from the server's: windows, fingerprints and their expiry
        are reckoned in device time, so a wrong clock must not keep them alive or overflow them."""
        now = self._clock()
        limit = self.config.max_capture_skew_seconds
        if abs((value - now).total_seconds()) > limit:
            raise TurnError(
                f"{name}: expected a time within {limit:g} s of the server's clock "
                f"({now.isoformat()}), got {value.isoformat()}",
                code="time_out_of_range",
                status=422,
            )

    def _follow_up_window(self, device_id: str, prompt_ended_at: datetime) -> ListeningWindow:
        return open_window(
            window_id=self._new_id(),
            device_id=device_id,
            prompt_ended_at=prompt_ended_at,
            seconds=self.config.listening_window_seconds,
        )

    def declined(self, *, user_id: str, offer_id: str, decision_id: str | None) -> None:
        """The user said no to an offer: it is not offered to them again."""
        if self.policy.entry(offer_id) is None:
            known = ", ".join(repr(e.id) for e in self.policy.catalog)
            raise TurnError(
                f"offer_id: expected the id of a catalog entry ({known}), got {offer_id!r}",
                code="unknown_offer",
                status=422,
            )
        self.store.record_declined(
            user_id=user_id, offer_id=offer_id, decision_id=decision_id, now=self._clock()
        )

    def last_decision(self, *, user_id: str, session_id: str | None) -> Decision | None:
        return self.store.last_decision(user_id=user_id, session_id=session_id)

    def get_decision(self, decision_id: str) -> Decision | None:
        return self.store.get_decision(decision_id)


def _utterance(heard: Heard, tag: TagResult) -> Utterance:
    """The utterance ``heard`` is, with the tag it was given."""
    turn = heard.turn
    return Utterance(
        id=heard.utterance_id,
        text=heard.transcript.text,
        locale=heard.locale.code,
        tag=tag.tag,
        tag_reasons=tag.reasons,
        at=turn.capture.start,
        device_id=turn.device_id,
        user_id=turn.user_id,
        session_id=turn.session_id,
        clock=turn.capture.clock,
    )


def _refuse_retry(utterance_id: str, earlier: str | None) -> None:
    """A retry must not decide (or offer, or count against the caps, or take a window) twice."""
    if earlier is not None:
        raise TurnError(
            f"utterance_id: expected an utterance not decided yet, got "
            f"{utterance_id!r}, already decided as {earlier!r}",
            code="duplicate_utterance",
            status=409,
        )
