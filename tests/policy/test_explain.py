"""Plain-English explanations of decisions."""

from __future__ import annotations

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import Policy
from askfirst.policy.explain import explain, summary
from askfirst.policy.values import Provenance, UserState, Verdict
from tests.policy.inputs import baseline, evidence, utterance, vary


def test_a_permit_is_explained_with_the_question_and_disclosure(policy: Policy) -> None:
    decision = baseline(policy).decide(policy)
    text = explain(decision)
    assert text.startswith("I mentioned Morning Roast Coffee only because you asked about deals")
    assert "'coffee'" in text
    assert "Sponsored by Morning Roast." in text
    assert "Nothing overheard was used." in text
    assert "pass   R1.prompted" in text
    assert decision.policy_hash in text
    assert "confirm_before_purchase" in text


def test_a_deny_names_the_deciding_rule_and_what_would_change_it(policy: Policy) -> None:
    inputs = vary(
        baseline(policy),
        evidence=(evidence(Provenance.AMBIENT),),
        user=UserState(user_id="u", opted_out=True),
    )
    decision = inputs.decide(policy)
    text = explain(decision)
    first = text.splitlines()[0]
    assert first.startswith("I made no offer, because evidence")
    assert "'ambient'" in first
    assert "It would have changed with:" in text
    assert "opting back in" in text
    assert "FORBID R5.evidence_provenance" in text
    assert "FORBID R6.consent" in text


def test_short_form_is_one_paragraph(policy: Policy) -> None:
    decision = vary(baseline(policy), question=None, offer=None).decide(policy)
    short = explain(decision, detail=False)
    assert "\n" not in short
    assert short.startswith(summary(decision))
    assert "explicit product question" in short


def test_an_overheard_utterance_would_change_only_by_being_addressed(policy: Policy) -> None:
    """Issue 15: 'a new session' is no change that could make an overheard line an offer."""
    inputs = vary(
        baseline(policy),
        utterance=utterance(tag=UtteranceTag.AMBIENT),
        question=None,
        offer=None,
        user=UserState(user_id="anna", offers_this_session=5, offers_today=9),
    )
    decision = inputs.decide(policy)
    assert not decision.permit and decision.rule == "R1.prompted"
    assert decision.would_change == (
        "the user speaking to the assistant directly instead of being overheard",
    )
    verdicts = {r.rule: r.verdict for r in decision.results}
    assert verdicts["R8.declined"] is Verdict.NOT_APPLICABLE
    assert verdicts["R4.same_turn"] is Verdict.NOT_APPLICABLE
    text = explain(decision)
    assert "n/a    R8.declined" in text and "FORBID R8.declined" not in text
    assert "new session" not in text
