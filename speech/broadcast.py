"""One sound, many devices: is this capture a broadcast, known media, or heard twice at home?

A TV or radio saying the wake word reaches every device in every home that plays it, within a
moment; one person asking something reaches every speaker of their own home. So, for a capture
that could be prompted, compared with what other devices reported within the window:

* it matches a registered advert or programme -> ``known_media`` (ambient), even alone;
* the same sound was heard in another household -> ``broadcast`` (ambient everywhere);
* the same sound was heard only by devices of this household -> one utterance heard twice:
  exactly one device answers (one already answered, else, of the captures whose turn was heard,
  the strongest when every one sent a level, else the first to report); the others get
  ``answered_elsewhere``;
* nobody else heard it -> ``alone``.

"The same sound" is decided by keyed fingerprints (``speech.acoustic`` for audio,
``speech.shingles`` for transcripts): two captures are one sound when their audio matches or
their transcripts do. This module is pure: the store keeps the peers, the turn asks.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from askfirst.core.capture import CaptureContextError, require_aware
from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.core.text import normalise
from askfirst.speech import shingles
from askfirst.speech.shingles import TextFingerprint

if TYPE_CHECKING:
    from askfirst.speech.acoustic import AcousticFingerprint

logger = logging.getLogger(__name__)

DEFAULT_BROADCAST_SECONDS = 1.5
MAX_HEARD_BY = 16
"""Once a broadcast is certain, stop comparing after this many matching peers: an advert heard
by thousands of devices costs each of them a few comparisons, not thousands (``heard_by``
then names the first of them)."""
KNOWN_MEDIA_TEXT_THRESHOLD = 0.8
"""Share of a capture's shingles that must be in a known medium's text to match it."""


class Outcome(StrEnum):
    """What other devices' reports make of one capture."""

    ALONE = "alone"
    """No other device reported the same sound: the turn is decided as usual."""
    ANSWERING = "answering"
    """Other devices of this household heard it too, and this device answers for them all."""
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    """Another device of this household answers this sound: no decision here."""
    BROADCAST = "broadcast"
    """Devices in other households heard the same sound: a loudspeaker, ambient everywhere."""
    KNOWN_MEDIA = "known_media"
    """The sound is a registered advert or programme: ambient."""


@dataclass(frozen=True, slots=True)
class Hearing:
    """The outcome for one capture and the devices that decided it."""

    outcome: Outcome
    devices: tuple[str, ...] = ()
    """The other devices that heard the same sound (for ``broadcast`` / household outcomes)."""
    answered_by: str | None = None
    """For ``answered_elsewhere``: the device that answers."""
    media: str | None = None
    """For ``known_media``: the name of the matched medium."""


@dataclass(frozen=True, slots=True)
class Prints:
    """The parsed fingerprints of one capture, parsed once per comparison run."""

    text: TextFingerprint | None
    audio: AcousticFingerprint | None

    @classmethod
    def of(cls, *, text_print: bytes, audio_print: bytes) -> Prints:
        audio = None
        if audio_print:
            from askfirst.speech.acoustic import AcousticFingerprint

            audio = AcousticFingerprint.from_bytes(audio_print)
        text = TextFingerprint.from_bytes(text_print) if text_print else None
        return cls(text=text, audio=audio)


def fingerprint(text: str, *, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised transcript: an exact lookup key for one transcript
    (the Wyoming edge finds the capture facts of a transcript it just produced by it). Two
    devices' transcripts of one sound differ; compare those with :func:`same_sound`."""
    if not isinstance(text, str):
        raise CaptureContextError(f"text: expected a string, got {type(text).__name__!r}")
    shingles.check_key(key)
    return hmac.new(key, normalise(text).encode("utf-8"), hashlib.sha256).hexdigest()


def same_sound(a: Prints, b: Prints) -> bool:
    """True when the audio of ``a`` and ``b`` matches, or their transcripts do."""
    if a.audio is not None and b.audio is not None:
        from askfirst.speech.acoustic import same_audio

        if same_audio(a.audio, b.audio):
            return True
    if a.text is not None and b.text is not None:
        return shingles.same_text(a.text, b.text)
    return False


def is_media(capture: Prints, medium: Prints) -> bool:
    """True when ``capture`` is (part of) ``medium``."""
    if capture.audio is not None and medium.audio is not None:
        from askfirst.speech.acoustic import same_audio

        if same_audio(capture.audio, medium.audio):
            return True
    if capture.text is not None and medium.text is not None:
        return shingles.containment(capture.text, medium.text) >= KNOWN_MEDIA_TEXT_THRESHOLD
    return False


def _check_window(window_seconds: float) -> None:
    if (
        isinstance(window_seconds, bool)
        or not isinstance(window_seconds, int | float)
        or not math.isfinite(window_seconds)
        or window_seconds < 0
    ):
        raise CaptureContextError(
            f"window_seconds: expected a finite number >= 0, got {window_seconds!r}"
        )


def _answers_first(captures: Sequence[PeerCapture]) -> PeerCapture:
    """The capture whose device answers: the strongest when every one has a level, else the
    first reported; ties go to the first reported."""
    if all(c.level is not None for c in captures):
        return max(captures, key=lambda c: (c.level, -c.seq))
    return min(captures, key=lambda c: c.seq)


def resolve(
    *,
    me: PeerCapture,
    peers: Iterable[PeerCapture],
    known_media: Sequence[KnownMedia] = (),
    window_seconds: float = DEFAULT_BROADCAST_SECONDS,
) -> Hearing:
    """What the other reports (``peers``, within ``window_seconds`` of ``me.at``) make of ``me``.

    ``me.seq`` must be the store's report order of this capture, comparable with the peers'.
    Captures from ``me``'s own device never count.
    """
    moment: datetime = require_aware(me.at, field="at")
    _check_window(window_seconds)
    mine = Prints.of(text_print=me.text_print, audio_print=me.audio_print)
    for medium in known_media:
        if is_media(mine, Prints.of(text_print=medium.text_print, audio_print=medium.audio_print)):
            logger.debug("broadcast: %r heard known media %r", me.device_id, medium.name)
            return Hearing(Outcome.KNOWN_MEDIA, media=medium.name)
    heard: list[PeerCapture] = []
    for peer in peers:
        if not isinstance(peer, PeerCapture):
            raise CaptureContextError(f"peers: expected PeerCapture items, got {peer!r}")
        if peer.device_id == me.device_id:
            continue
        if abs((peer.at - moment).total_seconds()) > window_seconds:
            continue
        if same_sound(mine, Prints.of(text_print=peer.text_print, audio_print=peer.audio_print)):
            heard.append(peer)
            if len(heard) >= MAX_HEARD_BY and any(p.household != me.household for p in heard):
                break  # a broadcast storm: the outcome is settled, the rest need no comparing
    if not heard:
        return Hearing(Outcome.ALONE)
    devices = tuple(dict.fromkeys(p.device_id for p in heard))
    if any(p.household != me.household for p in heard):
        logger.debug("broadcast: %r heard the same sound as %r", me.device_id, devices)
        return Hearing(Outcome.BROADCAST, devices=devices)
    answered = [p for p in heard if p.answered]
    if answered:
        first = min(answered, key=lambda c: c.seq)
        return Hearing(Outcome.ANSWERED_ELSEWHERE, devices=devices, answered_by=first.device_id)
    # Only captures whose turn was heard (a transcript print) can answer: an opening registered
    # while it streamed, whose turn never came (handled elsewhere, dropped), must not silence
    # the devices that did hear the person. One still being heard sees the answer when it is.
    winner = _answers_first([me, *(p for p in heard if p.text_print)])
    if winner.device_id == me.device_id:
        return Hearing(Outcome.ANSWERING, devices=devices)
    return Hearing(Outcome.ANSWERED_ELSEWHERE, devices=devices, answered_by=winner.device_id)
