"""The mapping from protocol signals to device, household and trigger, as a truth table, and
the recall that joins a transcript to its conversation turn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from askfirst.core.capture import Trigger
from askfirst.core.devices import Device
from askfirst.skill.settings import WyomingDevice, WyomingListener
from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.identity import Signals, TriggerFacts, identify, trigger_of
from askfirst.skill.wyoming.recall import HeardFacts, Recall

HOME = WyomingListener(device_id="living-room", household="kim")
BUTTON = WyomingListener(device_id="desk", trigger=Trigger.PUSH_TO_TALK)
NO_CUT = WyomingListener(device_id="mic", wake_word_removed=False)


@pytest.mark.parametrize(
    ("signals", "listener", "expected"),
    [
        (Signals(), HOME, (Trigger.WAKE_WORD, True, "listener")),
        (Signals(), NO_CUT, (Trigger.WAKE_WORD, None, "listener")),
        (Signals(), BUTTON, (Trigger.PUSH_TO_TALK, None, "listener")),
        (Signals(wake_word="ok_nabu"), BUTTON, (Trigger.WAKE_WORD, True, "detection")),
        (Signals(wake_word=""), HOME, (Trigger.WAKE_WORD, True, "detection")),
        (Signals(start_stage="asr"), HOME, (Trigger.PUSH_TO_TALK, None, "run-pipeline:asr")),
        (
            Signals(wake_word="x", start_stage="asr"),
            HOME,
            (Trigger.WAKE_WORD, True, "detection"),
        ),
        (Signals(start_stage="wake"), BUTTON, (Trigger.WAKE_WORD, True, "run-pipeline:wake")),
        (Signals(start_stage="handle"), BUTTON, (Trigger.PUSH_TO_TALK, None, "listener")),
    ],
)
def test_trigger_of(
    signals: Signals, listener: WyomingListener, expected: tuple[Trigger, bool | None, str]
) -> None:
    assert trigger_of(signals, listener) == TriggerFacts(*expected)


DEVICES = {
    "dev-1": WyomingDevice(device_id="kitchen"),
    "sat.hall": WyomingDevice(device_id="hall", household="lee"),
}
TOKENS = {"tok-1": Device(device_id="direct", household="park", room="study")}


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (None, (Device("living-room", "kim"), "listener")),
        ({}, (Device("living-room", "kim"), "listener")),
        ({"conversation_id": "c"}, (Device("living-room", "kim"), "listener")),
        ({"device_id": "dev-1"}, (Device("kitchen", "kim"), "device_id")),
        ({"satellite_id": "sat.hall"}, (Device("hall", "lee"), "satellite_id")),
        (
            {"device_id": "unknown", "satellite_id": "sat.hall"},
            (Device("hall", "lee"), "satellite_id"),
        ),
        ({"device_id": "unknown"}, (Device("ha:unknown", "kim"), "device_id")),
        (
            {"askfirst": {"device_token": "tok-1"}, "device_id": "dev-1"},
            (TOKENS["tok-1"], "device_token"),
        ),
        ({"askfirst": {"trigger": "wake_word"}}, (Device("living-room", "kim"), "listener")),
    ],
)
def test_identify(context: dict[str, object] | None, expected: tuple[Device, str]) -> None:
    found = identify(context, listener=HOME, devices=DEVICES, tokens=TOKENS)
    assert (found.device, found.source) == expected


@pytest.mark.parametrize(
    ("context", "code"),
    [
        ({"askfirst": {"device_token": "wrong"}}, "unknown-token"),
        ({"askfirst": "tok-1"}, "bad-context"),
        ({"device_id": 7}, "bad-context"),
        ({"satellite_id": "x" * 300}, "bad-context"),
    ],
)
def test_identify_refuses_what_it_cannot_trust(context: dict[str, object], code: str) -> None:
    with pytest.raises(WyomingError) as caught:
        identify(context, listener=HOME, devices=DEVICES, tokens=TOKENS)
    assert caught.value.code == code


def test_an_unconfigured_listener_is_a_household_of_one() -> None:
    found = identify(
        None, listener=WyomingListener(device_id="wyoming:tcp://x:1"), devices={}, tokens={}
    )
    assert found.device == Device("wyoming:tcp://x:1", "wyoming:tcp://x:1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _facts() -> HeardFacts:
    at = datetime(2026, 11, 30, tzinfo=UTC)
    return HeardFacts(TriggerFacts(Trigger.WAKE_WORD, True, "detection"), at, at)


def test_recall_joins_a_transcript_to_its_turn_once_and_only_in_time() -> None:
    clock = Clock()
    recall = Recall(key=b"k" * 32, clock=clock)
    recall.heard(peer="10.0.0.5", text="커피 추천해 줘", facts=_facts())
    assert recall.take_heard(peer="10.0.0.9", text="커피 추천해 줘") is None  # another peer
    # the same words however spaced or punctuated, from the same peer: once
    assert recall.take_heard(peer="10.0.0.5", text="커피  추천해 줘!") == _facts()
    assert recall.take_heard(peer="10.0.0.5", text="커피 추천해 줘") is None
    recall.heard(peer="10.0.0.5", text="tea", facts=_facts())
    clock.now += 10.5
    assert recall.take_heard(peer="10.0.0.5", text="tea") is None  # expired
    recall.heard(peer="p", text="   ", facts=_facts())  # silence is never remembered
    assert recall.take_heard(peer="p", text="   ") is None


def test_recall_follow_up_needs_the_same_device_within_the_window() -> None:
    clock = Clock()
    recall = Recall(key=b"k" * 32, clock=clock)
    recall.asked(conversation_id="c1", device_id="kitchen", seconds=8)
    assert not recall.take_follow_up(conversation_id="c1", device_id="hall")
    recall.asked(conversation_id="c1", device_id="kitchen", seconds=8)
    clock.now += 7.9
    assert recall.take_follow_up(conversation_id="c1", device_id="kitchen")
    assert not recall.take_follow_up(conversation_id="c1", device_id="kitchen")  # used up
    recall.asked(conversation_id="c2", device_id="kitchen", seconds=8)
    clock.now += 8.0
    assert not recall.take_follow_up(conversation_id="c2", device_id="kitchen")
