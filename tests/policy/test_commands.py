"""Consent and transparency commands: opt out, opt back in, "why did you suggest that"."""

from __future__ import annotations

import pytest

from askfirst.policy.detector import Command, ConsentCommand, detect_command

CASES: list[tuple[str, Command | None]] = [
    ("stop offering me deals", Command.OPT_OUT),
    ("Alexa, stop offering me deals!", Command.OPT_OUT),
    ("don't suggest products", Command.OPT_OUT),
    ("do not suggest products", Command.OPT_OUT),
    ("no more ads", Command.OPT_OUT),
    ("never recommend anything again", Command.OPT_OUT),
    ("I don't want any more offers", Command.OPT_OUT),
    ("don't recommend anything", Command.OPT_OUT),
    ("opt me out", Command.OPT_OUT),
    ("turn off suggestions please", Command.OPT_OUT),
    ("you can offer me deals again", Command.OPT_IN),
    ("resume suggesting products", Command.OPT_IN),
    ("opt me back in", Command.OPT_IN),
    ("it's okay to offer me deals again", Command.OPT_IN),
    ("why did you suggest that", Command.WHY),
    ("Alexa, why did you recommend that?", Command.WHY),
    ("why that offer", Command.WHY),
    ("why am I hearing this", Command.WHY),
    # in any clause; an opt-out anywhere wins; no opt-in next to a negation
    ("ugh, stop offering me deals", Command.OPT_OUT),
    ("why did you suggest that? stop offering me deals", Command.OPT_OUT),
    ("I'm busy, so why did you suggest that", Command.WHY),
    ("I changed my mind, you can offer me deals again", Command.OPT_IN),
    ("no, you can offer me deals again", None),
    ("you can offer me deals again, she said", None),
    # not commands
    ("do you have any deals on coffee", None),
    ("stop", None),
    ("play some music", None),
    ("she said stop offering me deals", None),
    ("why is the sky blue", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "command"), CASES)
def test_detect_command(text: str, command: Command | None) -> None:
    assert detect_command(text=text, locale="en-US") is command


def test_command_values_are_stable() -> None:
    assert [c.value for c in Command] == ["opt_out", "opt_in", "why"]
    assert ConsentCommand is Command


def test_other_english_locales_fall_back_to_en_us() -> None:
    assert detect_command(text="no more ads", locale="en-GB") is Command.OPT_OUT
