"""The values of one turn: what came in (text, audio or an Alexa intent) and what was decided."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from askfirst.core.capture import CaptureContext
from askfirst.core.peers import PeerCapture
from askfirst.policy.detector import Command
from askfirst.policy.values import (
    Decision,
    NoQuestion,
    Question,
    QuestionKind,
    RequestFacts,
    Utterance,
)
from askfirst.speech.audio import Audio
from askfirst.speech.broadcast import Hearing, Outcome
from askfirst.speech.locale import SpeechLocale
from askfirst.speech.tagging import TagResult
from askfirst.speech.transcriber import Transcript, Word
from askfirst.turn.errors import TurnError
from askfirst.turn.wire import DeferredBody, TurnResultBody

ALEXA_REQUEST = "alexa_request"
"""The tag reason of an Alexa IntentRequest: Alexa heard its wake word and routed the intent."""


@dataclass(frozen=True, slots=True)
class TurnInput:
    """An utterance a device captured: text or audio, with its capture context."""

    device_id: str
    capture: CaptureContext
    locale: str = "en-US"
    text: str | None = None
    audio: Audio | None = None
    user_id: str | None = None
    session_id: str | None = None
    request: RequestFacts = field(default_factory=RequestFacts)
    utterance_id: str | None = None
    wake_word_verified: bool | None = None
    """Text turns only: True when the device's own wake-word engine fired and cut the wake word
    from the audio it transcribed (a Wyoming peer such as Home Assistant), so the text is read
    as the words after it. Audio turns spot the wake word themselves; None: the text decides."""
    opened_on: str | None = None
    """The device this capture's opening was registered under while it streamed, when that is
    not ``device_id`` (a Wyoming speech-to-text connection names no device; the conversation
    turn does): the registration moves to this turn's device, keeping its place and time."""

    @property
    def household(self) -> str:
        """The household the capturing device listens in (its own id when it has none)."""
        return self.capture.household


@dataclass(frozen=True, slots=True)
class IntentInput:
    """An Alexa IntentRequest: prompted by construction; intent and slots are the question."""

    utterance_id: str
    device_id: str
    user_id: str | None
    session_id: str | None
    locale: str
    at: datetime
    intent_name: str
    kind: QuestionKind | None
    topic: str | None
    command: Command | None
    request: RequestFacts = field(default_factory=RequestFacts)
    slots: Mapping[str, str] = field(default_factory=dict)
    """Every filled slot as the user said it (kept in the decision's evidence)."""


@dataclass(frozen=True, slots=True)
class Heard:
    """Phase one of a turn: what was heard, before it is tagged or decided."""

    turn: TurnInput
    utterance_id: str
    locale: SpeechLocale
    transcript: Transcript
    wake_word_spotted: bool | None
    peer: PeerCapture | None
    """This capture's keyed prints as registered for broadcast detection (with its report
    order); None when the capture could not be prompted or a loudspeaker could not cause it."""


@dataclass(frozen=True, slots=True)
class Deferred:
    """A turn that may not be decided yet: other devices may still report the same sound."""

    utterance_id: str
    """Send the same capture again with this ``utterance_id`` at ``decide_at``."""
    decide_at: datetime
    retry_after: float
    """Seconds from now until ``decide_at``."""

    def to_json(self) -> dict[str, Any]:
        """The device API's 202 body (``askfirst.turn.wire.DeferredBody``)."""
        return DeferredBody(
            utterance_id=self.utterance_id,
            decide_at=self.decide_at,
            retry_after=round(self.retry_after, 3),
        ).model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class TurnResult:
    """Everything a caller may show about one turn."""

    utterance: Utterance
    transcript: str
    """What was heard; returned to the caller, never stored when the utterance is ambient."""
    words: tuple[Word, ...]
    tag: TagResult
    question: Question | None
    command: Command | None
    decision: Decision | None
    """None when another device of the household answers this sound (``answered_elsewhere``):
    nothing is decided, offered, recorded or counted here."""
    hearing: Hearing = field(default_factory=lambda: Hearing(Outcome.ALONE))
    """What other devices' reports made of this capture."""
    no_question: NoQuestion | None = None
    """Why a prompted text held no question (None when it held one, or was not read)."""

    @property
    def offer_permitted(self) -> bool:
        decision = self.decision
        return decision is not None and decision.permit and decision.offer is not None

    def decided(self) -> Decision:
        """The decision; a turn answered elsewhere has none (a TurnError)."""
        if self.decision is None:
            raise TurnError(
                f"expected a decided turn, got one answered by {self.hearing.answered_by!r}",
                code="answered_elsewhere",
                status=409,
            )
        return self.decision

    def body(self) -> TurnResultBody:
        """The wire value of this turn (see ``askfirst.turn.wire``)."""
        return TurnResultBody(
            utterance_id=self.utterance.id,
            outcome=self.hearing.outcome,
            heard_by=self.hearing.devices,
            answered_by=self.hearing.answered_by,
            known_media=self.hearing.media,
            transcript=self.transcript,
            words=self.words,
            tag=self.tag.tag,
            tag_reasons=self.tag.reasons,
            question=self.question,
            no_question=self.no_question,
            command=self.command,
            decision=self.decision,
            offer=self.decision.offer
            if self.decision is not None and self.offer_permitted
            else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The device API's response body and the simulator's ``--json`` record."""
        return self.body().model_dump(mode="json")
