"""The one normaliser: NFKC (Korean NFD composed), case folding, apostrophes, contractions."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.text import fold, normalise, rules_for, words


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Alexa, what\u2019s on SALE?!", "en-US", "alexa what is on sale"),
        ("whats on sale", "en-US", "what is on sale"),
        ("I don't want coffee", "en-US", "i do not want coffee"),
        ("I dont want coffee", "en", "i do not want coffee"),
        ("shouldn't", "en-US", "should not"),
        ("Alexa's deals", "en-US", "alexa deals"),
        ("noise-cancelling headphones", "en-US", "noise cancelling headphones"),
        ("ＡＬＥＸＡ", "en-US", "alexa"),
        ("I don't want coffee", None, "i dont want coffee"),
        ("아리아, 커피 추천해줘!", "ko-KR", "아리아 커피 추천해 줘"),
        ("아리아, 커피 추천해줘!", None, "아리아 커피 추천해줘"),
    ],
)
def test_normalise(text: str, language: str | None, expected: str) -> None:
    assert normalise(text, language=language) == expected
    assert words(text, language=language) == tuple(expected.split())


def test_decomposed_korean_is_composed() -> None:
    composed = "커피 추천해 줘"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalise(decomposed, language="ko-KR") == composed
    assert fold(decomposed) == composed


def test_fold_keeps_punctuation_but_not_case_width_or_spacing() -> None:
    assert fold("  ＡＬＥＸＡ\u2019s,\tdeals ") == "alexa's, deals"


def test_rules_for_language_variants() -> None:
    assert rules_for("en_us") is rules_for("en-GB") is rules_for("en")
    assert rules_for("fr-FR").contractions == {}
    assert rules_for(None).language == ""


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=60), language=st.sampled_from([None, "en-US", "ko-KR"]))
def test_normalise_is_idempotent(text: str, language: str | None) -> None:
    once = normalise(text, language=language)
    assert normalise(once, language=language) == once
    assert once == " ".join(once.split())
