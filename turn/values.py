"""The values of one turn: what came in (text, audio or an Alexa intent) and what was decided."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from askfirst.core.capture import CaptureContext
from askfirst.policy.detector import Command
from askfirst.policy.values import Decision, Question, QuestionKind, RequestFacts, Utterance
from askfirst.speech.audio import Audio
from askfirst.speech.locale import SpeechLocale
from askfirst.speech.tagging import TagResult
from askfirst.speech.transcriber import Transcript, Word

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


@dataclass(frozen=True, slots=True)
class Heard:
    """Phase one of a turn: what was heard, before it is tagged or decided."""

    turn: TurnInput
    utterance_id: str
    locale: SpeechLocale
    transcript: Transcript
    wake_word_spotted: bool | None
    fingerprint: str | None
    """HMAC of the transcript, registered for broadcast detection; None when not applicable."""


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
    decision: Decision

    @property
    def offer_permitted(self) -> bool:
        return self.decision.permit and self.decision.offer is not None

    def to_json(self) -> dict[str, Any]:
        """The device API's response body and the simulator's ``--json`` record."""
        decision = self.decision
        offer = decision.offer if self.offer_permitted else None
        return {
            "utterance_id": self.utterance.id,
            "transcript": self.transcript,
            "words": [
                {"text": w.text, "start": w.start, "end": w.end, "conf": w.conf} for w in self.words
            ],
            "tag": self.tag.tag.value,
            "tag_reasons": list(self.tag.reasons),
            "question": None
            if self.question is None
            else {
                "kind": self.question.kind.value,
                "topic": self.question.topic,
                "catalog_ids": list(self.question.catalog_ids),
                "cue": self.question.cue,
            },
            "command": None if self.command is None else self.command.value,
            "decision": {
                "id": decision.id,
                "permit": decision.permit,
                "rule": decision.rule,
                "reasons": [
                    {"rule": r.rule, "verdict": r.verdict.value, "reason": r.reason}
                    for r in decision.results
                ],
                "obligations": [{"code": o.code, "text": o.text} for o in decision.obligations],
                "would_change": list(decision.would_change),
                "evidence_ids": list(decision.evidence_ids),
                "policy_hash": decision.policy_hash,
                "candidate": None if decision.offer is None else decision.offer.id,
            },
            "offer": None
            if offer is None
            else {
                "id": offer.id,
                "title": offer.title,
                "kind": offer.kind.value,
                "disclosure": offer.disclosure,
                "pitch": offer.pitch,
                "product_id": offer.product_id,
            },
        }
