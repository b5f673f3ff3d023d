"""find_bad_text: the first string no store could hold, with where it was."""

from __future__ import annotations

import pytest

from askfirst.skill.request_text import BadText, find_bad_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": "fine", "b": [1, None, "ok \u2028 é 한국어 🎉"]}, None),
        ({"a": "x\x00"}, BadText("body.a", "x\x00")),
        ({"a": ["ok", {"b": "\ud800"}]}, BadText("body.a[1].b", "\ud800")),
        ({"\udfff": 1}, BadText("body key", "\udfff")),
        ("\x00", BadText("body", "\x00")),
        (3.5, None),
    ],
)
def test_find_bad_text(value: object, expected: BadText | None) -> None:
    assert find_bad_text(value) == expected


def test_deep_nesting_does_not_exhaust_the_stack() -> None:
    value: object = "\x00"
    for _ in range(50_000):
        value = [value]
    found = find_bad_text(value)
    assert found is not None
    assert found.value == "\x00"
    assert found.where.endswith("[0]")


def test_message_names_expected_and_actual_without_echoing_the_text() -> None:
    assert BadText("body.text", "buy shoes\x00").message() == (
        "body.text: expected text without NUL characters or unpaired surrogates, "
        "got 10 characters with U+0000 at index 9"
    )
    assert "shoes" not in BadText("body.text", "shoes \ud800").message()
