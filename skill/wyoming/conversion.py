"""Wyoming audio in, the recogniser's audio out: 16-bit mono PCM at a rate Vosk accepts.

Wyoming lets a peer send any rate, sample width and channel count (``audio-start`` says which;
every ``audio-chunk`` repeats it). Conversion is ``wyoming.audio.AudioChunkConverter`` (the
protocol library's own, maintained with it) for the width (to 16 bits) and a rate outside what
Vosk decodes directly (resampled to 16 kHz). Stereo is averaged to mono here, as the device API
does: the library's ``tomono`` *sums* the two channels (factors 1.0 and 1.0), which doubles the
level and clips loud speech. Whatever cannot be converted is refused before any audio is read,
with an error naming what is accepted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart

from askfirst.skill.wyoming.errors import WyomingError
from askfirst.speech.audio import MAX_RATE, MIN_RATE, stereo_to_mono

logger = logging.getLogger(__name__)

TARGET_WIDTH = 2
RESAMPLE_RATE = 16000
"""What a rate Vosk cannot take directly is resampled to (the Vosk models' own rate)."""
MAX_INPUT_RATE = 192000
WIDTHS = (1, 2, 3, 4)
CHANNELS = (1, 2)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """What ``audio-start`` announced."""

    rate: int
    width: int
    channels: int

    def __str__(self) -> str:
        return f"{self.rate} Hz/{self.width * 8}-bit/{self.channels} ch"

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def format_of(start: AudioStart) -> AudioFormat:
    """The format of ``audio-start``, or a WyomingError naming what is accepted."""
    problems = []
    if not _integer(start.rate) or not MIN_RATE <= start.rate <= MAX_INPUT_RATE:
        problems.append(
            f"rate: expected {MIN_RATE}..{MAX_INPUT_RATE} Hz (16000 is best), got {start.rate!r}"
        )
    if not _integer(start.width) or start.width not in WIDTHS:
        problems.append(f"width: expected one of {WIDTHS!r} bytes (2 is best), got {start.width!r}")
    if not _integer(start.channels) or start.channels not in CHANNELS:
        problems.append(
            f"channels: expected one of {CHANNELS!r} (1 is best), got {start.channels!r}"
        )
    if problems:
        raise WyomingError("audio-start " + "; ".join(problems), code="unsupported-audio-format")
    return AudioFormat(rate=start.rate, width=start.width, channels=start.channels)


class Converter:
    """Converts one utterance's chunks; keeps the resampler's state between them."""

    def __init__(self, audio_format: AudioFormat) -> None:
        self.format = audio_format
        direct = MIN_RATE <= audio_format.rate <= MAX_RATE
        self.rate = audio_format.rate if direct else RESAMPLE_RATE
        """The rate of the PCM :meth:`convert` returns."""
        self._passthrough = direct and audio_format.width == 2 and audio_format.channels == 1
        self._converter = AudioChunkConverter(
            rate=None if direct else RESAMPLE_RATE, width=TARGET_WIDTH, channels=None
        )

    def check(self, chunk: AudioChunk) -> None:
        """Refuse a chunk whose format differs from ``audio-start`` or that splits a frame."""
        fmt = self.format
        if (chunk.rate, chunk.width, chunk.channels) != (fmt.rate, fmt.width, fmt.channels):
            raise WyomingError(
                f"audio-chunk: expected {fmt} as audio-start said, got "
                f"{chunk.rate!r} Hz/{chunk.width!r} bytes/{chunk.channels!r} ch",
                code="audio-format-changed",
            )
        if len(chunk.audio) % fmt.frame_bytes:
            raise WyomingError(
                f"audio-chunk: expected whole frames of {fmt.frame_bytes} bytes, got "
                f"{len(chunk.audio)} bytes",
                code="partial-frame",
            )

    def convert(self, chunk: AudioChunk) -> bytes:
        """16-bit little-endian mono PCM at :attr:`rate`."""
        self.check(chunk)
        if self._passthrough:
            return chunk.audio
        pcm = self._converter.convert(chunk).audio
        return pcm if self.format.channels == 1 else stereo_to_mono(pcm)
