"""The policy's value types: utterances, evidence, catalog entries, questions and decisions.

Every value is frozen. Nothing here does I/O or imports a framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from askfirst.core.capture import Clock
from askfirst.core.tags import UtteranceTag


class Provenance(StrEnum):
    """Where a piece of evidence came from."""

    PROMPTED = "prompted"
    AMBIENT = "ambient"
    ALEXA_INTENT = "alexa_intent"


class OfferKind(StrEnum):
    """How an offer is delivered."""

    SPOKEN_DEAL = "spoken_deal"
    IN_SKILL_PRODUCT = "in_skill_product"


class QuestionKind(StrEnum):
    """What kind of explicit product question the user asked."""

    RECOMMENDATION = "recommendation"
    """"what running shoes do you recommend"."""
    DEAL = "deal"
    """"do you have any deals on coffee"."""
    REQUEST = "request"
    """"find me a deal on headphones", "I want to buy coffee"."""
    AVAILABILITY = "availability"
    """"do you sell headphones"."""
    PRICE = "price"
    """"how much is the premium pack"."""
    BROWSE = "browse"
    """"what can I buy" — a question about the catalog as a whole."""


@dataclass(frozen=True, slots=True)
class Utterance:
    """One thing a device heard, already tagged prompted or ambient."""

    id: str
    text: str
    """The transcript. Empty for an ambient utterance once it has been redacted."""
    locale: str
    tag: UtteranceTag
    tag_reasons: tuple[str, ...]
    """Machine-readable reason codes for the tag, e.g. ("wake_word_verified",)."""
    at: datetime
    device_id: str
    user_id: str | None = None
    session_id: str | None = None
    clock: Clock = Clock.DEVICE
    """Whose clock ``at`` is: the device's, or the server's arrival time when it sent none."""

    def redacted(self) -> Utterance:
        """This utterance without its text when it is ambient (what may be kept or shown)."""
        if self.tag is UtteranceTag.PROMPTED:
            return self
        return Utterance(
            id=self.id,
            text="",
            locale=self.locale,
            tag=self.tag,
            tag_reasons=self.tag_reasons,
            at=self.at,
            device_id=self.device_id,
            user_id=self.user_id,
            session_id=self.session_id,
            clock=self.clock,
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """A fact an offer would rest on, labelled with where it came from."""

    id: str
    provenance: Provenance | None
    """None means unlabelled; unlabelled evidence is treated as forbidden."""
    utterance_ids: tuple[str, ...]
    """The utterances this evidence came from."""
    detail: str = ""
    """A short human-readable description (a slot value, the matched question cue...)."""


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """Something that may be offered."""

    id: str
    title: str
    category: str
    synonyms: tuple[str, ...]
    kind: OfferKind
    disclosure: str
    """Disclosure wording spoken with the offer, e.g. "Sponsored: ..."."""
    pitch: str = ""
    """What is said about the offer; never contains a price."""
    product_id: str | None = None
    """The in-skill product id (ISP) for kind IN_SKILL_PRODUCT."""


@dataclass(frozen=True, slots=True)
class Question:
    """An explicit product question found in a prompted utterance."""

    utterance_id: str
    kind: QuestionKind
    topic: str | None
    """The topic words as the user said them ("running shoes"), None for BROWSE."""
    catalog_ids: tuple[str, ...]
    """Catalog entries the topic matched (by title, category or synonym), best first."""
    cue: str
    """The phrase pattern that made it a question, for explanations."""


class NoReason(StrEnum):
    """Why a prompted text holds no explicit product question."""

    NEGATED = "negated"
    """A negation anywhere ("I don't want coffee deals"); the detail is the word."""
    REPORTED = "reported"
    """Someone else's words ("she asked about coffee deals"); the detail is the marker."""
    TASK_COMMAND = "task_command"
    """A command that mentions a product but asks for nothing to be sold ("add coffee to my
    shopping list"); the detail is which task."""
    NO_PRODUCT = "no_product"
    """A question's shape about something the catalog does not have; the detail is its words."""
    NOT_A_QUESTION = "not_a_question"
    """Nothing in the grammar matched."""


@dataclass(frozen=True, slots=True)
class NoQuestion:
    """Why a prompted text is not an explicit product question: every "no" says why."""

    reason: NoReason
    detail: str = ""
    """The negation word, the reported-speech marker, the task, or the unknown product words."""
    template: str = ""
    """The grammar intent and template that matched (task commands, no_product), if any."""

    def describe(self) -> str:
        """One line for ``askfirst explain``, the simulator and the device API."""
        words = {
            NoReason.NEGATED: "it holds a negation",
            NoReason.REPORTED: "it reports someone else's words",
            NoReason.TASK_COMMAND: "it is a task command",
            NoReason.NO_PRODUCT: "it asks about something the catalog does not have",
            NoReason.NOT_A_QUESTION: "it is not a product question",
        }[self.reason]
        detail = f" ({self.detail!r})" if self.detail else ""
        return f"{self.reason.value}: {words}{detail}"


@dataclass(frozen=True, slots=True)
class Offer:
    """A candidate offer: a catalog entry proposed as the answer to one question."""

    entry: CatalogEntry
    answers_utterance_id: str
    """The id of the question's utterance this offer cites; must be the current turn's."""


@dataclass(frozen=True, slots=True)
class UserState:
    """What the store knows about the user at decision time (a snapshot)."""

    user_id: str | None
    opted_out: bool = False
    child_profile: bool = False
    declined_offer_ids: frozenset[str] = frozenset()
    offers_this_session: int = 0
    offers_today: int = 0


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """Facts about the request the utterance arrived in."""

    child_directed_skill: bool = False
    limit_ad_tracking: bool | None = None
    """Alexa's ``limitAdTracking`` flag when the request carried one, else None."""


class Verdict(StrEnum):
    """A single rule's outcome."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FORBID = "forbid"
    NOT_APPLICABLE = "not_applicable"
    """Nothing for the rule to check (no offer candidate); never a permit by itself."""


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's verdict with its reason."""

    rule: str
    """The rule id, e.g. "R1.prompted"."""
    verdict: Verdict
    reason: str


@dataclass(frozen=True, slots=True)
class Obligation:
    """Something the skill must do when it delivers a permitted offer."""

    code: str
    """"disclose", "confirm_before_purchase", "no_price_in_upsell"."""
    text: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer for one candidate offer in one turn."""

    id: str
    utterance_id: str
    permit: bool
    rule: str
    """The deciding rule: the first forbidding rule, or "permit" when all passed."""
    results: tuple[RuleResult, ...]
    evidence_ids: tuple[str, ...]
    obligations: tuple[Obligation, ...]
    offer: CatalogEntry | None
    """The offer permitted, or the candidate that was denied (None when there was none)."""
    policy_hash: str
    would_change: tuple[str, ...] = field(default=())
    """For a deny: what would have changed the outcome, in plain words."""
    question: Question | None = None
