"""The one wire shape: every policy value round-trips through JSON text, and bad JSON is named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from askfirst.core.tags import UtteranceTag
from askfirst.policy import wire
from askfirst.policy.values import (
    CatalogEntry,
    Decision,
    Obligation,
    OfferKind,
    Question,
    QuestionKind,
    RuleResult,
    UserState,
    Utterance,
    Verdict,
)

texts = st.text(max_size=20)
words = st.lists(texts, max_size=3).map(tuple)
opt_texts = st.none() | texts
entries = st.builds(
    CatalogEntry,
    id=texts,
    title=texts,
    category=texts,
    synonyms=words,
    kind=st.sampled_from(OfferKind),
    disclosure=texts,
    pitch=texts,
    product_id=opt_texts,
)
questions = st.builds(
    Question,
    utterance_id=texts,
    kind=st.sampled_from(QuestionKind),
    topic=opt_texts,
    catalog_ids=words,
    cue=texts,
)
decisions = st.builds(
    Decision,
    id=texts,
    utterance_id=texts,
    permit=st.booleans(),
    rule=texts,
    results=st.lists(
        st.builds(RuleResult, rule=texts, verdict=st.sampled_from(Verdict), reason=texts),
        max_size=4,
    ).map(tuple),
    evidence_ids=words,
    obligations=st.lists(st.builds(Obligation, code=texts, text=texts), max_size=3).map(tuple),
    offer=st.none() | entries,
    policy_hash=texts,
    would_change=words,
    question=st.none() | questions,
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])
utterances = st.builds(
    Utterance,
    id=texts,
    text=texts,
    locale=texts,
    tag=st.sampled_from(UtteranceTag),
    tag_reasons=words,
    at=st.datetimes(timezones=st.none() | zones),
    device_id=texts,
    user_id=opt_texts,
    session_id=opt_texts,
)
states = st.builds(
    UserState,
    user_id=opt_texts,
    opted_out=st.booleans(),
    child_profile=st.booleans(),
    declined_offer_ids=st.frozensets(texts, max_size=3),
    offers_this_session=st.integers(0, 100),
    offers_today=st.integers(0, 100),
)


def _through_text(obj: dict[str, object]) -> object:
    return json.loads(json.dumps(obj))


@given(decisions)
def test_decision_round_trips_through_json_text(d: Decision) -> None:
    assert wire.decision_from_json(_through_text(wire.decision_to_json(d))) == d


@given(utterances)
def test_utterance_round_trips_through_json_text(u: Utterance) -> None:
    back = wire.utterance_from_json(_through_text(wire.utterance_to_json(u)))
    assert back == u
    assert back.at.utcoffset() == u.at.utcoffset()


@given(states)
def test_user_state_round_trips_with_stable_bytes(s: UserState) -> None:
    obj = wire.user_state_to_json(s)
    assert obj["declined_offer_ids"] == sorted(s.declined_offer_ids)
    assert wire.user_state_from_json(_through_text(obj)) == s


@given(decisions)
def test_records_written_before_the_wire_module_still_read(d: Decision) -> None:
    """The shape is the one the store has always written: field names and nesting unchanged."""
    old = {
        "id": d.id,
        "utterance_id": d.utterance_id,
        "permit": d.permit,
        "rule": d.rule,
        "results": [
            {"rule": r.rule, "verdict": r.verdict.value, "reason": r.reason} for r in d.results
        ],
        "evidence_ids": list(d.evidence_ids),
        "obligations": [{"code": o.code, "text": o.text} for o in d.obligations],
        "offer": None if d.offer is None else wire.catalog_entry_to_json(d.offer),
        "policy_hash": d.policy_hash,
        "would_change": list(d.would_change),
        "question": None if d.question is None else wire.question_to_json(d.question),
    }
    assert wire.decision_to_json(d) == old
    assert wire.decision_from_json(old) == d


def _decision() -> Decision:
    entry = CatalogEntry(
        id="coffee",
        title="Coffee",
        category="grocery",
        synonyms=("beans",),
        kind=OfferKind.SPOKEN_DEAL,
        disclosure="Sponsored",
    )
    return Decision(
        id="d1",
        utterance_id="u1",
        permit=True,
        rule="permit",
        results=(RuleResult("R1.prompted", Verdict.PASS, "prompted"),),
        evidence_ids=("e1",),
        obligations=(Obligation("disclose", "say it is sponsored"),),
        offer=entry,
        policy_hash="h",
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("rule"), "expected a field at 'decision.rule', got 'nothing'"),
        (lambda o: o.update(permit="yes"), "at 'decision.permit', got 'yes'"),
        (
            lambda o: o.update(results=[{"rule": "R1", "verdict": "maybe", "reason": ""}]),
            "expected 'pass', 'forbid' or 'not_applicable' at 'decision.results[0].verdict', "
            "got 'maybe'",
        ),
        (lambda o: o["offer"].update(kind="banner"), "at 'decision.offer.kind', got 'banner'"),
        (
            lambda o: o.update(evidence_ids=["e", 3]),
            "expected a valid string at 'decision.evidence_ids[1]', got 3",
        ),
        (lambda o: o.update(question=[]), "at 'decision.question', got []"),
    ],
)
def test_malformed_decision_names_field_expected_and_actual(mutate: object, message: str) -> None:
    obj = wire.decision_to_json(_decision())
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(wire.WireError) as caught:
        wire.decision_from_json(obj)
    assert message in str(caught.value)


def test_non_object_is_refused() -> None:
    with pytest.raises(wire.WireError, match=r"expected a JSON object at 'decision', got 'str'"):
        wire.decision_from_json("d1")


def test_bad_time_and_boolean_counts_are_refused() -> None:
    u = wire.utterance_to_json(
        Utterance("u", "", "en-US", UtteranceTag.AMBIENT, (), datetime(2024, 1, 1, tzinfo=UTC), "d")
    )
    u["at"] = "yesterday"
    with pytest.raises(wire.WireError, match=r"at 'utterance.at', got 'yesterday'"):
        wire.utterance_from_json(u)
    s = wire.user_state_to_json(UserState(user_id="u"))
    s["offers_today"] = True
    with pytest.raises(wire.WireError, match=r"at 'user_state.offers_today', got True"):
        wire.user_state_from_json(s)
