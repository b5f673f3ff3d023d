"""Round trips of the JSON codecs, and clear errors for malformed records."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from askfirst.core.tags import UtteranceTag
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
from askfirst.store.codec import (
    decision_from_json,
    decision_to_json,
    user_state_from_json,
    user_state_to_json,
    utterance_from_json,
    utterance_to_json,
)
from askfirst.store.errors import BadValueError
from tests.store.builders import decision

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
    at=st.datetimes(timezones=zones),
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


@given(decisions)
def test_decision_round_trips_through_json_text(d: Decision) -> None:
    assert decision_from_json(json.loads(json.dumps(decision_to_json(d)))) == d


@given(utterances)
def test_utterance_round_trips_through_json_text(u: Utterance) -> None:
    back = utterance_from_json(json.loads(json.dumps(utterance_to_json(u))))
    assert back == u
    assert back.at.utcoffset() == u.at.utcoffset()


@given(states)
def test_user_state_round_trips_through_json_text(s: UserState) -> None:
    assert user_state_from_json(json.loads(json.dumps(user_state_to_json(s)))) == s


def test_naive_utterance_time_round_trips_too() -> None:
    obj = utterance_to_json(
        Utterance(
            id="u",
            text="",
            locale="ko-KR",
            tag=UtteranceTag.AMBIENT,
            tag_reasons=(),
            at=datetime(2024, 1, 1, 8, 0),
            device_id="d",
        )
    )
    assert utterance_from_json(obj).at == datetime(2024, 1, 1, 8, 0)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o.pop("rule"), "expected a field at 'decision.rule', got 'nothing'"),
        (
            lambda o: o.update(permit="yes"),
            "expected a valid boolean at 'decision.permit', got 'yes'",
        ),
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
        (
            lambda o: o.update(question=[]),
            "expected an object at 'decision.question', got []",
        ),
    ],
)
def test_malformed_decision_names_field_expected_and_actual(mutate: object, message: str) -> None:
    obj = decision_to_json(decision())
    mutate(obj)  # type: ignore[operator]
    with pytest.raises(BadValueError) as caught:
        decision_from_json(obj)
    assert message in str(caught.value)


def test_non_object_decision_is_refused() -> None:
    with pytest.raises(BadValueError, match=r"expected a JSON object at 'decision', got 'str'"):
        decision_from_json("d1")


def test_bad_utterance_time_is_refused() -> None:
    obj = utterance_to_json(
        Utterance(
            id="u",
            text="",
            locale="en-US",
            tag=UtteranceTag.AMBIENT,
            tag_reasons=(),
            at=datetime(2024, 1, 1, tzinfo=UTC),
            device_id="d",
        )
    )
    obj["at"] = "yesterday"
    with pytest.raises(BadValueError, match=r"datetime.* at 'utterance.at', got 'yesterday'"):
        utterance_from_json(obj)


def test_negative_or_boolean_counts_are_refused() -> None:
    obj = user_state_to_json(UserState(user_id="u"))
    obj["offers_today"] = True
    with pytest.raises(BadValueError, match=r"integer at 'user_state.offers_today', got True"):
        user_state_from_json(obj)
