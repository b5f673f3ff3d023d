"""Broadcast detection: keyed transcript fingerprints and peers within a time window."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.capture import CaptureContextError
from askfirst.core.peers import PeerCapture
from askfirst.speech.broadcast import fingerprint, is_broadcast, normalise_transcript

KEY = b"k" * 32
OTHER_KEY = b"j" * 32
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alexa, order more coffee!", "alexa order more coffee"),
        ("  ALEXA   order\tmore coffee ", "alexa order more coffee"),
        ("Alexa\u2019s deals", "alexa's deals"),
        ("ＡＬＥＸＡ", "alexa"),
        ("아리아, 커피 추천해 줘!", "아리아 커피 추천해 줘"),
    ],
)
def test_fingerprint_ignores_case_width_punctuation_and_spacing(a: str, b: str) -> None:
    assert fingerprint(a, key=KEY) == fingerprint(b, key=KEY)


def test_fingerprint_is_hmac_sha256_of_the_normalised_text() -> None:
    expected = hmac.new(KEY, b"alexa order coffee", hashlib.sha256).hexdigest()
    assert fingerprint("Alexa, order coffee.", key=KEY) == expected
    assert "coffee" not in fingerprint("alexa order coffee", key=KEY)


@settings(max_examples=1000, deadline=None)
@given(a=st.text(max_size=40), b=st.text(max_size=40))
def test_fingerprints_match_exactly_when_normal_forms_match(a: str, b: str) -> None:
    same = normalise_transcript(a) == normalise_transcript(b)
    assert (fingerprint(a, key=KEY) == fingerprint(b, key=KEY)) == same


@settings(max_examples=1000, deadline=None)
@given(text=st.text(max_size=60))
def test_fingerprint_depends_on_the_key_and_is_normalisation_idempotent(text: str) -> None:
    fp = fingerprint(text, key=KEY)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert fp != fingerprint(text, key=OTHER_KEY)
    assert fingerprint(normalise_transcript(text), key=KEY) == fp


@pytest.mark.parametrize("key", [b"", b"short", "k" * 32])
def test_weak_or_wrong_keys_are_refused(key: object) -> None:
    with pytest.raises(
        CaptureContextError, match=r"key: expected at least 16 bytes of secret, got"
    ):
        fingerprint("alexa", key=key)  # type: ignore[arg-type]


def test_non_text_is_refused() -> None:
    with pytest.raises(CaptureContextError, match=r"text: expected a string, got 'bytes'"):
        fingerprint(b"alexa", key=KEY)  # type: ignore[arg-type]


def peer(device: str, seconds: float, text: str = "alexa order coffee") -> PeerCapture:
    return PeerCapture(
        device_id=device, at=T0 + timedelta(seconds=seconds), fingerprint=fingerprint(text, key=KEY)
    )


@pytest.mark.parametrize(
    ("peers", "expected"),
    [
        ([], False),
        ([peer("living-room", 0.4)], True),
        ([peer("living-room", -1.5)], True),
        ([peer("living-room", 1.5)], True),
        ([peer("living-room", 1.501)], False),
        ([peer("living-room", -2.0)], False),
        ([peer("kitchen", 0.0)], False),
        ([peer("living-room", 0.2, "alexa order tea")], False),
        ([peer("kitchen", 0.1), peer("living-room", 9.0), peer("bedroom", -0.3)], True),
    ],
)
def test_is_broadcast(peers: list[PeerCapture], expected: bool) -> None:
    fp = fingerprint("Alexa, order coffee!", key=KEY)
    assert is_broadcast(device_id="kitchen", at=T0, fingerprint=fp, peers=peers) is expected


def test_window_seconds_is_configurable_and_checked() -> None:
    fp = fingerprint("alexa order coffee", key=KEY)
    peers = [peer("living-room", 2.5)]
    assert is_broadcast(device_id="k", at=T0, fingerprint=fp, peers=peers, window_seconds=3.0)
    assert not is_broadcast(device_id="k", at=T0, fingerprint=fp, peers=peers)
    with pytest.raises(
        CaptureContextError, match=r"window_seconds: expected a finite number >= 0, got -1"
    ):
        is_broadcast(device_id="k", at=T0, fingerprint=fp, peers=peers, window_seconds=-1)


def test_a_foreign_fingerprint_never_crashes_the_comparison() -> None:
    odd = PeerCapture(device_id="tv-room", at=T0, fingerprint="아리아")
    assert not is_broadcast(device_id="k", at=T0, fingerprint="0" * 64, peers=[odd])


def test_bad_peers_and_times_are_refused() -> None:
    with pytest.raises(CaptureContextError, match=r"peers: expected PeerCapture items, got 'x'"):
        is_broadcast(device_id="k", at=T0, fingerprint="f", peers=["x"])  # type: ignore[list-item]
    with pytest.raises(
        CaptureContextError, match=r"at: expected a timezone-aware datetime, got naive"
    ):
        PeerCapture(device_id="k", at=datetime(2024, 1, 1), fingerprint="f")
    with pytest.raises(
        CaptureContextError, match=r"fingerprint: expected a non-empty string, got ''"
    ):
        PeerCapture(device_id="k", at=T0, fingerprint="")
