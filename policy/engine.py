"""The policy engine: propose an offer for a question, then decide it by the rules.

Deny by default: an offer is permitted only when every rule in ``RULES`` passes. Every rule
is evaluated and recorded, the first forbidding one decides, and a deny says what would
have changed it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from askfirst.policy.config import Policy
from askfirst.policy.rules import RULES, Facts, Rule
from askfirst.policy.values import (
    Decision,
    Evidence,
    NoQuestion,
    Offer,
    Question,
    RequestFacts,
    UserState,
    Utterance,
    Verdict,
)

logger = logging.getLogger(__name__)

__all__ = ["PERMIT", "RULES", "Rule", "decide", "propose_offer"]

PERMIT = "permit"
"""``Decision.rule`` when every rule passed."""


def propose_offer(*, question: Question | None, policy: Policy, user: UserState) -> Offer | None:
    """The best catalog entry answering ``question``, citing its utterance; None if nothing fits.

    Entries come in the question's match order (catalog order for a browse); one the user
    declined is skipped while another remains, else it is proposed so R8 can say why not.
    """
    if question is None:
        return None
    entries = [e for e in map(policy.entry, question.catalog_ids) if e is not None]
    if not entries:
        return None
    fresh = [e for e in entries if e.id not in user.declined_offer_ids]
    return Offer(entry=(fresh or entries)[0], answers_utterance_id=question.utterance_id)


def decide(
    *,
    decision_id: str,
    utterance: Utterance,
    question: Question | None,
    offer: Offer | None,
    evidence: Sequence[Evidence],
    user: UserState,
    request: RequestFacts,
    policy: Policy,
    no_question: NoQuestion | None = None,
) -> Decision:
    """Apply every rule to one candidate offer and record the outcome with its reasons.

    ``no_question`` is the detector's reason when there is no question; R2 names it.
    """
    facts = Facts(utterance, question, offer, tuple(evidence), user, request, policy, no_question)
    results = tuple([rule.check(facts) for rule in RULES])
    deciding = PERMIT
    changes: list[str] = []
    for rule, result in zip(RULES, results, strict=True):
        if result.verdict is Verdict.FORBID:
            if deciding == PERMIT:
                deciding = result.rule
            change = rule.fix(facts)
            if rule.gate:
                changes = [change] if change else []
                break
            if change and change not in changes:
                changes.append(change)
    permit = deciding == PERMIT and offer is not None  # deny by default: no candidate, no offer
    entry = None if offer is None else offer.entry
    return Decision(
        id=decision_id,
        utterance_id=utterance.id,
        permit=permit,
        rule=deciding,
        results=results,
        evidence_ids=tuple([item.id for item in facts.evidence]),
        obligations=policy.obligations_for(entry.id) if permit and entry is not None else (),
        offer=entry,
        policy_hash=policy.hash,
        would_change=tuple(changes),
        question=question,
    )
