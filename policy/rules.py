"""The ten policy rules, in order. Each checks one condition and says why it passed or forbade.

A rule that cannot establish its condition forbids (deny by default): with no offer
candidate, the offer rules (R3, R4, R8) forbid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import Policy
from askfirst.policy.values import (
    Evidence,
    NoQuestion,
    Offer,
    Provenance,
    Question,
    QuestionKind,
    RequestFacts,
    RuleResult,
    UserState,
    Utterance,
    Verdict,
)

ALLOWED_PROVENANCE = frozenset({Provenance.PROMPTED, Provenance.ALEXA_INTENT})


class Facts(NamedTuple):
    """Everything one decision looks at."""

    utterance: Utterance
    question: Question | None
    offer: Offer | None
    evidence: tuple[Evidence, ...]
    user: UserState
    request: RequestFacts
    policy: Policy
    no_question: NoQuestion | None = None
    """Why the detector found no question, when it found none."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy rule."""

    id: str
    summary: str
    """What the rule requires, in plain words."""
    check: Callable[[Facts], RuleResult]
    fix: Callable[[Facts], str]
    """For a forbid: what would have satisfied the rule ("" when another rule says it)."""
    gate: bool = False
    """When this rule forbids, nothing after it could change the outcome on its own (an
    overheard utterance's words were never read; a child profile is a hard deny), so only
    this rule's fix is "what would have changed it"."""


def _pass(rule: str, reason: str) -> RuleResult:
    return RuleResult(rule, Verdict.PASS, reason)


def _forbid(rule: str, reason: str) -> RuleResult:
    return RuleResult(rule, Verdict.FORBID, reason)


def _not_applicable(rule: str, reason: str) -> RuleResult:
    return RuleResult(rule, Verdict.NOT_APPLICABLE, reason)


_R1_PASS = _pass("R1.prompted", "the utterance was prompted: the user addressed the assistant")
_R2_PASS = _pass("R2.explicit_question", "the user asked an explicit product question")
_R3_PASS = _pass("R3.topic_match", "the offer matches the question's topic")
_R4_PASS = _pass("R4.same_turn", "the offer answers the question asked in this same turn")
_R5_PASS = _pass(
    "R5.evidence_provenance", "every piece of evidence comes from this turn's prompted request"
)
_R6_PASS = _pass("R6.consent", "the user has not opted out of offers")
_R7_PASS = _pass("R7.child", "neither the skill nor the user profile is directed at children")
_R8_PASS = _pass("R8.declined", "the user has not declined this offer before")
_R9_PASS = _pass("R9.frequency_cap", "the session and daily offer caps are not reached")
_R10_PASS = _pass("R10.limit_ad_tracking", "the request does not ask to limit ad tracking")


def _prompted(f: Facts) -> RuleResult:
    if f.utterance.tag is UtteranceTag.PROMPTED:
        return _R1_PASS
    why = ", ".join(f.utterance.tag_reasons) or "no reason given"
    return _forbid(
        "R1.prompted",
        f"the utterance was tagged {f.utterance.tag.value!r} ({why}); "
        "only speech addressed to the assistant may lead to an offer",
    )


def _explicit_question(f: Facts) -> RuleResult:
    if f.question is not None:
        return _R2_PASS
    why = "" if f.no_question is None else f" ({f.no_question.describe()})"
    return _forbid(
        "R2.explicit_question", f"no explicit product question was asked in this turn{why}"
    )


def _topic_match(f: Facts) -> RuleResult:
    question, offer = f.question, f.offer
    if question is None:
        return _forbid("R3.topic_match", "there is no question whose topic an offer could match")
    if offer is None:
        if question.kind is QuestionKind.BROWSE or question.topic is None:
            return _forbid("R3.topic_match", "nothing in the catalog answers the question")
        return _forbid(
            "R3.topic_match", f"nothing in the catalog matches the topic {question.topic!r}"
        )
    entry = offer.entry
    in_force = f.policy.entry(entry.id)
    if in_force is not entry and in_force != entry:
        return _forbid(
            "R3.topic_match", f"offer {entry.id!r} is not in the catalog of the policy in force"
        )
    if entry.id not in question.catalog_ids:
        return _forbid(
            "R3.topic_match",
            f"offer {entry.id!r} does not match the topic {question.topic!r} "
            f"(it matches {question.catalog_ids!r})",
        )
    return _R3_PASS


def _same_turn(f: Facts) -> RuleResult:
    question, offer, turn = f.question, f.offer, f.utterance.id
    if offer is None:
        return _not_applicable("R4.same_turn", "no offer candidate, so no turn to compare")
    if question is None:
        return _forbid("R4.same_turn", "there is no question in this turn for the offer to answer")
    if question.utterance_id != turn:
        return _forbid(
            "R4.same_turn",
            f"the question came from utterance {question.utterance_id!r}, "
            f"not from this turn's {turn!r}",
        )
    if offer.answers_utterance_id != turn:
        return _forbid(
            "R4.same_turn",
            f"the offer cites utterance {offer.answers_utterance_id!r}, "
            f"not this turn's question {turn!r}",
        )
    return _R4_PASS


def _evidence_provenance(f: Facts) -> RuleResult:
    if not f.evidence:
        return _forbid("R5.evidence_provenance", "there is no evidence for an offer")
    turn = f.utterance.id
    for item in f.evidence:
        if item.provenance is None:
            return _forbid(
                "R5.evidence_provenance",
                f"evidence {item.id!r} is unlabelled; unlabelled evidence is never used",
            )
        if item.provenance not in ALLOWED_PROVENANCE:
            return _forbid(
                "R5.evidence_provenance",
                f"evidence {item.id!r} is labelled {item.provenance.value!r}; "
                "only 'prompted' or 'alexa_intent' evidence may support an offer",
            )
        if not item.utterance_ids or any(cited != turn for cited in item.utterance_ids):
            return _forbid(
                "R5.evidence_provenance",
                f"evidence {item.id!r} cites utterances {item.utterance_ids!r}, "
                f"expected only this turn's {turn!r}",
            )
    return _R5_PASS


def _consent(f: Facts) -> RuleResult:
    if f.user.opted_out:
        return _forbid("R6.consent", "the user opted out of offers")
    return _R6_PASS


def _child(f: Facts) -> RuleResult:
    causes = []
    if f.request.child_directed_skill:
        causes.append("the request comes from a child-directed skill")
    if f.policy.child_directed_skill:
        causes.append("the policy marks the skill as child-directed")
    if f.user.child_profile:
        causes.append("the user has a child profile")
    if causes:
        return _forbid("R7.child", "; ".join(causes) + " (a hard deny)")
    return _R7_PASS


def _declined(f: Facts) -> RuleResult:
    if f.offer is None:
        return _not_applicable("R8.declined", "no offer candidate to check against past declines")
    if f.offer.entry.id in f.user.declined_offer_ids:
        return _forbid("R8.declined", f"the user declined {f.offer.entry.id!r} before")
    return _R8_PASS


def _frequency_cap(f: Facts) -> RuleResult:
    caps, user = f.policy.caps, f.user
    if user.offers_this_session >= caps.per_session:
        return _forbid(
            "R9.frequency_cap",
            f"the session cap of {caps.per_session} offer(s) is reached "
            f"({user.offers_this_session} so far)",
        )
    if user.offers_today >= caps.per_user_per_day:
        return _forbid(
            "R9.frequency_cap",
            f"the daily cap of {caps.per_user_per_day} offer(s) is reached "
            f"({user.offers_today} so far today)",
        )
    return _R9_PASS


def _limit_ad_tracking(f: Facts) -> RuleResult:
    if f.request.limit_ad_tracking is True:
        return _forbid(
            "R10.limit_ad_tracking", "the request asks to limit ad tracking (limitAdTracking)"
        )
    return _R10_PASS


def _fix_topic(f: Facts) -> str:
    if f.question is None:
        return ""
    if f.question.topic is None:
        return "a catalog entry to offer"
    return f"a catalog entry matching {f.question.topic!r}"


def _fix_cap(f: Facts) -> str:
    if f.user.offers_this_session >= f.policy.caps.per_session:
        return "a new session (this session's offer cap is reached)"
    return "another day (today's offer cap is reached)"


def _with_offer(text: str) -> Callable[[Facts], str]:
    return lambda f: text if f.offer is not None else ""


RULES: tuple[Rule, ...] = (
    Rule(
        "R1.prompted",
        "the utterance is prompted (addressed to the assistant)",
        _prompted,
        lambda f: "the user speaking to the assistant directly instead of being overheard",
        gate=True,
    ),
    Rule(
        "R2.explicit_question",
        "it is an explicit product question",
        _explicit_question,
        lambda f: "an explicit question about a product, such as 'any deals on coffee?'",
    ),
    Rule("R3.topic_match", "the offer matches the question's topic", _topic_match, _fix_topic),
    Rule(
        "R4.same_turn",
        "the offer answers the question of this same turn",
        _same_turn,
        _with_offer("an offer that answers the question asked in this turn"),
    ),
    Rule(
        "R5.evidence_provenance",
        "no evidence is ambient or unlabelled; all of it cites this turn",
        _evidence_provenance,
        lambda f: "evidence only from this turn's prompted request (none ambient or unlabelled)",
    ),
    Rule(
        "R6.consent",
        "the user has not opted out",
        _consent,
        lambda f: "the user opting back in to offers",
    ),
    Rule(
        "R7.child",
        "no child-directed skill and no child profile",
        _child,
        lambda f: "nothing: offers are never made in child-directed skills or to child profiles",
        gate=True,
    ),
    Rule(
        "R8.declined",
        "the user has not declined this offer",
        _declined,
        _with_offer("an offer the user has not declined before"),
    ),
    Rule("R9.frequency_cap", "the frequency caps are not reached", _frequency_cap, _fix_cap),
    Rule(
        "R10.limit_ad_tracking",
        "limitAdTracking is honoured",
        _limit_ad_tracking,
        lambda f: "a request that does not ask to limit ad tracking",
    ),
)
"""The rules in evaluation order; the first that forbids decides."""
