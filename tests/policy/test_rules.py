"""A truth table for every rule: one fact changed from a permitted baseline at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import Policy
from askfirst.policy.engine import RULES, decide, propose_offer
from askfirst.policy.values import (
    Offer,
    Provenance,
    Question,
    QuestionKind,
    RequestFacts,
    UserState,
    Verdict,
)
from tests.policy.inputs import (
    TURN,
    Inputs,
    baseline,
    coffee_question,
    evidence,
    utterance,
    vary,
)

Change = Callable[[Inputs, Policy], Inputs]
RULE_IDS = [
    "R1.prompted",
    "R2.explicit_question",
    "R3.topic_match",
    "R4.same_turn",
    "R5.evidence_provenance",
    "R6.consent",
    "R7.child",
    "R8.declined",
    "R9.frequency_cap",
    "R10.limit_ad_tracking",
]


def offer_of(policy: Policy, entry_id: str, answers: str = TURN) -> Offer:
    entry = policy.entry(entry_id)
    assert entry is not None
    return Offer(entry=entry, answers_utterance_id=answers)


def user(**fields: object) -> Change:
    return lambda i, p: vary(i, user=replace(i.user, **fields))  # type: ignore[arg-type]


def request(**fields: object) -> Change:
    return lambda i, p: vary(i, request=RequestFacts(**fields))  # type: ignore[arg-type]


def unchanged(i: Inputs, p: Policy) -> Inputs:
    return i


# rule id -> rows of (label, change to the baseline, expected verdict of that rule)
TABLE: dict[str, list[tuple[str, Change, Verdict]]] = {
    "R1.prompted": [
        ("prompted", unchanged, Verdict.PASS),
        (
            "ambient",
            lambda i, p: vary(i, utterance=utterance(tag=UtteranceTag.AMBIENT)),
            Verdict.FORBID,
        ),
    ],
    "R2.explicit_question": [
        ("a question", unchanged, Verdict.PASS),
        ("no question", lambda i, p: vary(i, question=None), Verdict.FORBID),
    ],
    "R3.topic_match": [
        ("offer matches topic", unchanged, Verdict.PASS),
        (
            "offer for another topic",
            lambda i, p: vary(i, offer=offer_of(p, "tea-green-leaf")),
            Verdict.FORBID,
        ),
        ("no offer", lambda i, p: vary(i, offer=None), Verdict.FORBID),
        ("no question", lambda i, p: vary(i, question=None), Verdict.FORBID),
        (
            "offer not in the catalog in force",
            lambda i, p: vary(
                i,
                offer=Offer(
                    entry=replace(offer_of(p, "coffee-morning-roast").entry, pitch="changed"),
                    answers_utterance_id=TURN,
                ),
            ),
            Verdict.FORBID,
        ),
        (
            "browse question, any entry",
            lambda i, p: vary(
                i,
                question=Question(
                    TURN, QuestionKind.BROWSE, None, tuple(e.id for e in p.catalog), "c"
                ),
                offer=offer_of(p, "premium-recipe-pack"),
            ),
            Verdict.PASS,
        ),
    ],
    "R4.same_turn": [
        ("same turn", unchanged, Verdict.PASS),
        (
            "offer cites an earlier turn",
            lambda i, p: vary(i, offer=offer_of(p, "coffee-morning-roast", "utt-0")),
            Verdict.FORBID,
        ),
        (
            "question from an earlier turn",
            lambda i, p: vary(i, question=coffee_question("utt-0")),
            Verdict.FORBID,
        ),
        (
            "question and offer carried over together",
            lambda i, p: vary(
                i,
                question=coffee_question("utt-0"),
                offer=offer_of(p, "coffee-morning-roast", "utt-0"),
            ),
            Verdict.FORBID,
        ),
        ("no offer", lambda i, p: vary(i, offer=None), Verdict.NOT_APPLICABLE),
        ("no question", lambda i, p: vary(i, question=None), Verdict.FORBID),
    ],
    "R5.evidence_provenance": [
        ("prompted evidence", unchanged, Verdict.PASS),
        (
            "alexa intent evidence",
            lambda i, p: vary(i, evidence=(evidence(Provenance.ALEXA_INTENT),)),
            Verdict.PASS,
        ),
        (
            "ambient evidence",
            lambda i, p: vary(i, evidence=(evidence(Provenance.AMBIENT),)),
            Verdict.FORBID,
        ),
        ("unlabelled evidence", lambda i, p: vary(i, evidence=(evidence(None),)), Verdict.FORBID),
        (
            "prompted plus ambient",
            lambda i, p: vary(i, evidence=(evidence(), evidence(Provenance.AMBIENT))),
            Verdict.FORBID,
        ),
        (
            "prompted plus unlabelled",
            lambda i, p: vary(i, evidence=(evidence(), evidence(None))),
            Verdict.FORBID,
        ),
        ("no evidence", lambda i, p: vary(i, evidence=()), Verdict.FORBID),
        (
            "evidence from an earlier turn",
            lambda i, p: vary(i, evidence=(evidence(cites=("utt-0",)),)),
            Verdict.FORBID,
        ),
        (
            "evidence citing this and an earlier turn",
            lambda i, p: vary(i, evidence=(evidence(cites=(TURN, "utt-0")),)),
            Verdict.FORBID,
        ),
        (
            "evidence citing nothing",
            lambda i, p: vary(i, evidence=(evidence(cites=()),)),
            Verdict.FORBID,
        ),
    ],
    "R6.consent": [
        ("not opted out", unchanged, Verdict.PASS),
        ("opted out", user(opted_out=True), Verdict.FORBID),
    ],
    "R7.child": [
        ("adult, general skill", unchanged, Verdict.PASS),
        ("child-directed request", request(child_directed_skill=True), Verdict.FORBID),
        ("child profile", user(child_profile=True), Verdict.FORBID),
    ],
    "R8.declined": [
        ("never declined", unchanged, Verdict.PASS),
        (
            "declined another offer",
            user(declined_offer_ids=frozenset({"tea-green-leaf"})),
            Verdict.PASS,
        ),
        (
            "declined this offer",
            user(declined_offer_ids=frozenset({"coffee-morning-roast"})),
            Verdict.FORBID,
        ),
        ("no offer", lambda i, p: vary(i, offer=None), Verdict.NOT_APPLICABLE),
    ],
    "R9.frequency_cap": [
        ("under both caps", unchanged, Verdict.PASS),
        ("session cap reached", user(offers_this_session=1), Verdict.FORBID),
        ("session cap exceeded", user(offers_this_session=5), Verdict.FORBID),
        ("daily cap reached", user(offers_today=3), Verdict.FORBID),
        ("one under the daily cap", user(offers_today=2), Verdict.PASS),
    ],
    "R10.limit_ad_tracking": [
        ("flag absent", unchanged, Verdict.PASS),
        ("flag false", request(limit_ad_tracking=False), Verdict.PASS),
        ("flag true", request(limit_ad_tracking=True), Verdict.FORBID),
    ],
}

ROWS = [
    pytest.param(rule, change, verdict, id=f"{rule}: {label}")
    for rule, rows in TABLE.items()
    for label, change, verdict in rows
]


def test_rules_are_the_ten_in_order() -> None:
    assert [rule.id for rule in RULES] == RULE_IDS
    assert list(TABLE) == RULE_IDS


def test_baseline_is_permitted_with_obligations(policy: Policy) -> None:
    decision = baseline(policy).decide(policy)
    assert decision.permit
    assert decision.rule == "permit"
    assert [r.rule for r in decision.results] == RULE_IDS
    assert all(r.verdict is Verdict.PASS for r in decision.results)
    assert [o.code for o in decision.obligations] == [
        "disclose",
        "confirm_before_purchase",
        "no_price_in_upsell",
    ]
    assert decision.obligations[0].text == "Sponsored by Morning Roast."
    assert decision.offer is not None and decision.offer.id == "coffee-morning-roast"
    assert decision.question == coffee_question()
    assert decision.evidence_ids == (evidence().id,)
    assert decision.policy_hash == policy.hash
    assert decision.would_change == ()


@pytest.mark.parametrize(("rule", "change", "verdict"), ROWS)
def test_rule_truth_table(policy: Policy, rule: str, change: Change, verdict: Verdict) -> None:
    decision = change(baseline(policy), policy).decide(policy)
    result = next(r for r in decision.results if r.rule == rule)
    assert result.verdict is verdict, result.reason
    assert result.reason
    forbidding = [r.rule for r in decision.results if r.verdict is Verdict.FORBID]
    if verdict is Verdict.FORBID:
        assert not decision.permit
        assert decision.rule == forbidding[0]
        assert decision.obligations == ()
        assert decision.would_change, "a deny says what would have changed it"
    assert decision.permit is (not forbidding)


def test_policy_child_directed_skill_forbids(policy: Policy) -> None:
    child_policy = replace(policy, child_directed_skill=True)
    decision = baseline(child_policy).decide(child_policy)
    assert (decision.permit, decision.rule) == (False, "R7.child")
    assert "policy" in decision.results[6].reason


def test_forbid_reasons_name_the_values(policy: Policy) -> None:
    inputs = vary(baseline(policy), user=UserState(user_id="u", offers_today=7))
    reason = inputs.decide(policy).results[8].reason
    assert "7" in reason and "3" in reason
    ambient = vary(baseline(policy), evidence=(evidence(Provenance.AMBIENT),))
    assert "'ambient'" in ambient.decide(policy).results[4].reason


def test_no_question_is_a_deny_decided_by_r2(policy: Policy) -> None:
    inputs = vary(baseline(policy), question=None, offer=None)
    decision = inputs.decide(policy)
    assert (decision.permit, decision.rule, decision.offer) == (False, "R2.explicit_question", None)


def test_topic_without_catalog_match_is_a_deny_decided_by_r3(policy: Policy) -> None:
    question = Question(TURN, QuestionKind.DEAL, "lawn mowers", (), "cue")
    offer = propose_offer(question=question, policy=policy, user=UserState(user_id="u"))
    assert offer is None
    decision = vary(baseline(policy), question=question, offer=offer).decide(policy)
    assert decision.rule == "R3.topic_match"
    assert "'lawn mowers'" in decision.results[2].reason
    assert any("lawn mowers" in change for change in decision.would_change)


def test_propose_offer_prefers_entries_not_declined(policy: Policy) -> None:
    browse = Question(TURN, QuestionKind.BROWSE, None, tuple(e.id for e in policy.catalog), "c")
    fresh = UserState(user_id="u")
    declined_first = UserState(user_id="u", declined_offer_ids=frozenset({policy.catalog[0].id}))
    first = propose_offer(question=browse, policy=policy, user=fresh)
    second = propose_offer(question=browse, policy=policy, user=declined_first)
    assert first is not None and first.entry == policy.catalog[0]
    assert second is not None and second.entry == policy.catalog[1]
    assert second.answers_utterance_id == TURN
    only = coffee_question()
    declined = UserState(user_id="u", declined_offer_ids=frozenset({"coffee-morning-roast"}))
    again = propose_offer(question=only, policy=policy, user=declined)
    assert again is not None and again.entry.id == "coffee-morning-roast"
    assert propose_offer(question=None, policy=policy, user=fresh) is None


def test_decide_accepts_any_evidence_sequence(policy: Policy) -> None:
    inputs = baseline(policy)
    decision = decide(
        decision_id="d",
        utterance=inputs.utterance,
        question=inputs.question,
        offer=inputs.offer,
        evidence=list(inputs.evidence),
        user=inputs.user,
        request=inputs.request,
        policy=policy,
    )
    assert decision.permit
