"""One sound, many devices: broadcast across households, one answer within one, known media."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from askfirst.core.capture import CaptureContextError
from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.speech.broadcast import Hearing, Outcome, resolve
from askfirst.speech.shingles import text_fingerprint

KEY = b"k" * 32
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
COFFEE = "Alexa, do you have any deals on coffee?"


def cap(
    device: str,
    seconds: float = 0.0,
    *,
    household: str = "",
    text: str = COFFEE,
    seq: int = 1,
    level: float | None = None,
    answered: bool = False,
) -> PeerCapture:
    return PeerCapture(
        device_id=device,
        household=household,
        utterance_id=f"u-{device}",
        at=T0 + timedelta(seconds=seconds),
        text_print=text_fingerprint(text, key=KEY).to_bytes(),
        level=level,
        seq=seq,
        answered=answered,
    )


ME = cap("kitchen", household="flat-12", text="Alexa do you have any deal on coffee", seq=5)


@pytest.mark.parametrize(
    ("peers", "expected"),
    [
        ([], Hearing(Outcome.ALONE)),
        # the three homes: one word differs in each transcript
        (
            [
                cap("tv-a", 0.1, text="Alexa, do you have any deals on coffee?"),
                cap("tv-b", 0.2, text="Alexa do you have a deals on coffee"),
            ],
            Hearing(Outcome.BROADCAST, devices=("tv-a", "tv-b")),
        ),
        ([cap("tv-a", 1.5)], Hearing(Outcome.BROADCAST, devices=("tv-a",))),
        ([cap("tv-a", -1.501)], Hearing(Outcome.ALONE)),
        ([cap("kitchen", 0.0)], Hearing(Outcome.ALONE)),
        (
            [cap("tv-a", 0.2, text="Alexa, what time does the pharmacy close?")],
            Hearing(Outcome.ALONE),
        ),
        # one home: the first to report answers
        (
            [cap("lounge", 0.1, household="flat-12", seq=4)],
            Hearing(Outcome.ANSWERED_ELSEWHERE, devices=("lounge",), answered_by="lounge"),
        ),
        (
            [cap("lounge", 0.1, household="flat-12", seq=9)],
            Hearing(Outcome.ANSWERING, devices=("lounge",)),
        ),
        # one home that already answered, whatever the order
        (
            [cap("lounge", 0.1, household="flat-12", seq=9, answered=True)],
            Hearing(Outcome.ANSWERED_ELSEWHERE, devices=("lounge",), answered_by="lounge"),
        ),
        # one home and another: a broadcast wins
        (
            [cap("lounge", 0.1, household="flat-12", seq=4), cap("tv-a", 0.3, seq=6)],
            Hearing(Outcome.BROADCAST, devices=("lounge", "tv-a")),
        ),
    ],
)
def test_resolve(peers: list[PeerCapture], expected: Hearing) -> None:
    assert resolve(me=ME, peers=peers) == expected


def test_the_strongest_capture_answers_when_every_device_sent_a_level() -> None:
    quiet = cap("kitchen", household="flat-12", seq=1, level=-40.0)
    loud = cap("lounge", 0.2, household="flat-12", seq=2, level=-12.0)
    assert resolve(me=quiet, peers=[loud]).outcome is Outcome.ANSWERED_ELSEWHERE
    assert resolve(me=loud, peers=[quiet]).outcome is Outcome.ANSWERING
    # one device without a level: the first to report answers
    unknown = cap("lounge", 0.2, household="flat-12", seq=2)
    assert resolve(me=quiet, peers=[unknown]).outcome is Outcome.ANSWERING


def test_known_media_is_ambient_even_alone() -> None:
    script = "new morning roast coffee alexa do you have any deals on coffee today only"
    advert = KnownMedia(
        id="m1",
        name="coffee advert",
        added_at=T0,
        text_print=text_fingerprint(script, key=KEY).to_bytes(),
    )
    assert resolve(me=ME, peers=[], known_media=[advert]) == Hearing(
        Outcome.KNOWN_MEDIA, media="coffee advert"
    )
    other = cap("kitchen", text="Alexa, what time does the pharmacy close?")
    assert resolve(me=other, peers=[], known_media=[advert]).outcome is Outcome.ALONE


def test_bad_windows_and_peers_are_refused() -> None:
    with pytest.raises(CaptureContextError, match=r"window_seconds: expected a finite number"):
        resolve(me=ME, peers=[], window_seconds=-1)
    with pytest.raises(CaptureContextError, match=r"peers: expected PeerCapture items, got 'x'"):
        resolve(me=ME, peers=["x"])  # type: ignore[list-item]
    with pytest.raises(CaptureContextError, match=r"expected at least one fingerprint"):
        PeerCapture(device_id="k", at=T0)
    with pytest.raises(CaptureContextError, match=r"at: expected a timezone-aware datetime"):
        PeerCapture(device_id="k", at=datetime(2024, 1, 1), text_print=b"x" * 8)


def test_a_broadcast_storm_stops_comparing_once_the_outcome_is_settled() -> None:
    """Thousands of homes heard the advert: the outcome is a broadcast after a few matches,
    heard_by names the first MAX_HEARD_BY devices, and a storm that starts with this
    household's own speakers still ends as a broadcast."""
    from askfirst.speech.broadcast import MAX_HEARD_BY

    storm = [cap(f"tv-{n}", 0.1, household=f"home-{n}", seq=n + 10) for n in range(3000)]
    hearing = resolve(me=ME, peers=storm)
    assert hearing.outcome is Outcome.BROADCAST
    assert hearing.devices == tuple(f"tv-{n}" for n in range(MAX_HEARD_BY))
    own = [cap(f"hall-{n}", 0.1, household="flat-12", seq=n + 1) for n in range(40)]
    later = resolve(me=ME, peers=[*own, *storm])
    assert later.outcome is Outcome.BROADCAST and "tv-0" in later.devices
    unrelated = [
        cap(f"tv-{n}", 0.1, household=f"home-{n}", text="what's the weather", seq=n + 10)
        for n in range(200)
    ]
    assert resolve(me=ME, peers=unrelated).outcome is Outcome.ALONE


def test_an_opening_whose_turn_never_came_does_not_take_the_answer() -> None:
    """A satellite registered its opening first (audio print only) but its turn was handled
    elsewhere: the speaker whose turn was heard answers; the satellite's capture, if its turn
    does come, sees that answer."""
    import numpy as np

    from askfirst.speech.acoustic import acoustic_fingerprint

    rng = np.random.default_rng(7)
    pcm = (rng.standard_normal(16000 * 3) * 3000).astype("<i2").tobytes()
    sound = acoustic_fingerprint(pcm, 16000, key=KEY).to_bytes()
    opening = dataclasses.replace(
        cap("hall", household="flat-12", seq=1), text_print=b"", audio_print=sound
    )
    me = dataclasses.replace(ME, audio_print=sound)
    assert resolve(me=me, peers=[opening]).outcome is Outcome.ANSWERING
    heard_first = cap("hall", household="flat-12", seq=1)
    assert resolve(me=ME, peers=[heard_first]) == Hearing(
        Outcome.ANSWERED_ELSEWHERE, devices=("hall",), answered_by="hall"
    )
