"""Catalog matching: title, category and synonyms; case, punctuation and plural tolerant."""

from __future__ import annotations

import pytest

from askfirst.policy.config import Policy
from askfirst.policy.detector import match_catalog, question_for_topic
from askfirst.policy.errors import PolicyError, UnknownLocaleError
from askfirst.policy.values import QuestionKind


@pytest.mark.parametrize(
    ("topic", "best"),
    [
        ("coffee", "coffee-morning-roast"),
        ("COFFEE!", "coffee-morning-roast"),
        ("Morning Roast Coffee", "coffee-morning-roast"),
        ("running shoe", "shoes-trailblazer"),
        ("Running-Shoes", "shoes-trailblazer"),
        ("sneaker", "shoes-trailblazer"),
        ("a pair of cheap trainers", "shoes-trailblazer"),
        ("headphone", "headphones-quietwave"),
        ("headphones for running", "headphones-quietwave"),
        ("wireless earbuds", "headphones-quietwave"),
        ("the premium pack", "premium-recipe-pack"),
        ("recipes", "premium-recipe-pack"),
        ("green teas", "tea-green-leaf"),
        ("커피", "coffee-morning-roast"),
        ("헤드폰", "headphones-quietwave"),
    ],
)
def test_topics_match_the_catalog(policy: Policy, topic: str, best: str) -> None:
    assert match_catalog(topic, policy.catalog)[:1] == (best,)


@pytest.mark.parametrize("topic", ["coffee maker", "lawn mower", "", "the", "shoe horn", "weather"])
def test_unrelated_topics_match_nothing(policy: Policy, topic: str) -> None:
    assert match_catalog(topic, policy.catalog) == ()


def test_korean_particles_are_removed(policy: Policy) -> None:
    assert match_catalog("헤드폰을", policy.catalog, locale="ko-KR") == ("headphones-quietwave",)
    assert match_catalog("헤드폰을", policy.catalog, locale="en-US") == ()


def test_question_for_topic_matches_like_the_detector(policy: Policy) -> None:
    question = question_for_topic(
        kind=QuestionKind.DEAL, topic="Coffee", utterance_id="u-9", catalog=policy.catalog
    )
    assert question.utterance_id == "u-9"
    assert question.kind is QuestionKind.DEAL
    assert question.topic == "coffee"
    assert question.catalog_ids == ("coffee-morning-roast",)
    assert "deal" in question.cue


def test_question_for_topic_browse_and_missing_topic(policy: Policy) -> None:
    browse = question_for_topic(
        kind=QuestionKind.BROWSE, topic=None, utterance_id="u", catalog=policy.catalog
    )
    assert browse.topic is None
    assert browse.catalog_ids == tuple(entry.id for entry in policy.catalog)
    vague = question_for_topic(
        kind=QuestionKind.DEAL, topic="anything", utterance_id="u", catalog=policy.catalog
    )
    assert vague.kind is QuestionKind.BROWSE
    missing = question_for_topic(
        kind=QuestionKind.PRICE, topic=None, utterance_id="u", catalog=policy.catalog
    )
    assert (missing.kind, missing.topic, missing.catalog_ids) == (QuestionKind.PRICE, None, ())


def test_unknown_locale_is_a_clear_error(policy: Policy) -> None:
    with pytest.raises(UnknownLocaleError) as caught:
        match_catalog("coffee", policy.catalog, locale="fr-FR")
    assert isinstance(caught.value, PolicyError)
    assert "'fr-FR'" in str(caught.value)
    assert "'en-US'" in str(caught.value)
    with pytest.raises(UnknownLocaleError):
        match_catalog("coffee", policy.catalog, locale="../../etc/passwd")
