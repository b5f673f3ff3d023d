"""Keyed word-shingle fingerprints: a dropped, added or changed word still matches."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.capture import CaptureContextError
from askfirst.speech.shingles import (
    TextFingerprint,
    containment,
    same_text,
    similarity,
    text_fingerprint,
)

KEY = b"k" * 32
OTHER_KEY = b"j" * 32

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9)
SENTENCE = st.lists(WORD, min_size=6, max_size=16, unique=True)
"""A question of 6-16 distinct words (a question repeats few words)."""


def fp(words: list[str], key: bytes = KEY) -> TextFingerprint:
    return text_fingerprint(" ".join(words), key=key)


@settings(max_examples=300, deadline=None)
@given(words=SENTENCE, data=st.data())
def test_a_dropped_word_still_matches(words: list[str], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(words) - 1))
    assert same_text(fp(words), fp(words[:i] + words[i + 1 :]))


@settings(max_examples=300, deadline=None)
@given(words=SENTENCE, extra=WORD, data=st.data())
def test_an_added_word_still_matches(words: list[str], extra: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(words)))
    assert same_text(fp(words), fp([*words[:i], extra, *words[i:]]))


@settings(max_examples=300, deadline=None)
@given(words=SENTENCE, other=WORD, data=st.data())
def test_a_changed_word_still_matches(words: list[str], other: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(words) - 1))
    assert same_text(fp(words), fp([*words[:i], other, *words[i + 1 :]]))


@settings(max_examples=300, deadline=None)
@given(a=SENTENCE, b=SENTENCE)
def test_different_questions_do_not_match(a: list[str], b: list[str]) -> None:
    # Different: fewer than half of the words in common, as two people's questions are.
    shared = len(set(a) & set(b))
    if shared * 2 >= min(len(a), len(b)):
        return
    assert not same_text(fp(a), fp(b))


@settings(max_examples=200, deadline=None)
@given(a=SENTENCE, b=SENTENCE)
def test_similarity_is_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    score = similarity(fp(a), fp(b))
    assert 0.0 <= score <= 1.0
    assert score == similarity(fp(b), fp(a))


@settings(max_examples=200, deadline=None)
@given(words=SENTENCE)
def test_prints_are_keyed_and_round_trip(words: list[str]) -> None:
    print_ = fp(words)
    assert TextFingerprint.from_bytes(print_.to_bytes()) == print_
    assert not same_text(print_, fp(words, key=OTHER_KEY)), "another key, another print"
    assert " ".join(words).encode() not in print_.to_bytes()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alexa, do you have any deals on coffee?", "Alexa do you have any deal on coffee"),
        ("Alexa, do you have any deals on coffee?", "Alexa do you have a deals on coffee"),
        ("ALEXA,  do you have any deals on coffee", "alexa do you have any deals on coffee!"),
    ],
)
def test_the_issues_three_transcripts_match(a: str, b: str) -> None:
    assert same_text(text_fingerprint(a, key=KEY), text_fingerprint(b, key=KEY))


def test_short_transcripts_match_nothing_and_parts_are_contained() -> None:
    assert similarity(fp(["alexa", "stop"]), fp(["alexa", "stop"])) == 0.0
    whole = fp(
        [
            "and",
            "now",
            "the",
            "new",
            "morning",
            "roast",
            "coffee",
            "at",
            "half",
            "price",
            "this",
            "week",
            "only",
        ]
    )
    assert (
        containment(fp(["the", "new", "morning", "roast", "coffee", "at", "half", "price"]), whole)
        == 1.0
    )


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "at least 8"),
        (b"\x00" * 7, "multiple of 8"),
        (b"\x05" + b"\x00" * 7, "at most 0 words"),
    ],
)
def test_bad_stored_prints_are_refused(data: bytes, needle: str) -> None:
    with pytest.raises(CaptureContextError, match=needle):
        TextFingerprint.from_bytes(data)


@pytest.mark.parametrize("key", [b"", b"short", "k" * 32])
def test_weak_or_wrong_keys_are_refused(key: object) -> None:
    with pytest.raises(CaptureContextError, match=r"key: expected at least 16 bytes of secret"):
        text_fingerprint("alexa", key=key)  # type: ignore[arg-type]
