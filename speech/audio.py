"""Audio as askfirst accepts it: 16-bit little-endian mono PCM, parsed from WAV or raw bytes.

WAV files are parsed chunk by chunk here rather than with the stdlib ``wave`` module, so every
malformed input ends in an :class:`AudioError` naming what was expected and what arrived.
Stereo WAVs are down-mixed to mono by averaging the two channels; every other layout is refused.
"""

from __future__ import annotations

import array
import logging
import math
import struct
import sys
from dataclasses import dataclass, field

from askfirst.speech.errors import AudioError

logger = logging.getLogger(__name__)

MIN_RATE = 8000
MAX_RATE = 48000
DEFAULT_MAX_SECONDS = 30.0

_PCM = 0x0001
_FLOAT = 0x0003
_EXTENSIBLE = 0xFFFE
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_FORMAT_NAMES = {0x0002: "MS ADPCM", 0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law"}
_FORMAT_NAMES |= {0x0011: "IMA ADPCM", 0x0055: "MP3"}


@dataclass(frozen=True, slots=True)
class Audio:
    """A clip of 16-bit little-endian mono PCM at a known sample rate."""

    pcm: bytes = field(repr=False)
    sample_rate: int

    def __post_init__(self) -> None:
        check_sample_rate(self.sample_rate)
        if len(self.pcm) % 2:
            raise AudioError(
                f"expected an even number of bytes of 16-bit PCM, got {len(self.pcm)!r}",
                code="odd_byte_count",
            )

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.pcm) / (2 * self.sample_rate)

    def head(self, seconds: float) -> Audio:
        """The opening ``seconds`` of this clip (all of it when shorter)."""
        samples = max(0, int(seconds * self.sample_rate))
        return Audio(self.pcm[: 2 * samples], self.sample_rate)

    def __repr__(self) -> str:
        return f"Audio(sample_rate={self.sample_rate!r}, duration={self.duration:.3f})"


def from_raw_pcm(
    data: bytes, *, sample_rate: int, max_seconds: float = DEFAULT_MAX_SECONDS
) -> Audio:
    """Wrap raw 16-bit little-endian mono PCM whose rate the caller declares."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise AudioError(f"expected raw PCM bytes, got {type(data).__name__!r}", code="not_bytes")
    check_sample_rate(sample_rate)
    pcm = bytes(data)
    if not pcm:
        raise AudioError("expected 16-bit PCM samples, got 0 bytes", code="empty_audio")
    audio = Audio(pcm, sample_rate)
    _check_length(audio, max_seconds)
    return audio


def read_wav(data: bytes, *, max_seconds: float = DEFAULT_MAX_SECONDS) -> Audio:
    """Parse a 16-bit PCM WAV file (mono, or stereo down-mixed to mono)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise AudioError(f"expected WAV bytes, got {type(data).__name__!r}", code="not_bytes")
    data = bytes(data)
    if not data:
        raise AudioError("expected a WAV file, got 0 bytes", code="empty_audio")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"expected a RIFF/WAVE header, got {data[:12]!r}", code="not_a_wav")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        raise AudioError(
            f"expected {end!r} bytes as the RIFF header declares, got {len(data)!r}"
            " (truncated file or a header lying about its length)",
            code="wav_truncated",
        )
    fmt: _Format | None = None
    pos = 12
    while pos + 8 <= end:
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        body_end = body_start + size
        if body_end > end:
            raise AudioError(
                f"expected chunk {chunk_id!r} of {size!r} bytes to fit in the file,"
                f" got {end - body_start!r} bytes left (truncated or lying header)",
                code="wav_truncated",
            )
        body = data[body_start:body_end]
        if chunk_id == b"fmt ":
            fmt = _parse_format(body)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError(
                    "expected a 'fmt ' chunk before the 'data' chunk, got 'data' first",
                    code="bad_wav_header",
                )
            audio = Audio(_to_mono(body, fmt), fmt.rate)
            if not audio.pcm:
                raise AudioError(
                    "expected audio samples, got an empty data chunk", code="empty_audio"
                )
            _check_length(audio, max_seconds)
            return audio
        pos = body_end + (size & 1)
    raise AudioError(
        f"expected a 'data' chunk, got none in {len(data)!r} bytes"
        + ("" if fmt else " (and no 'fmt ' chunk)"),
        code="wav_truncated",
    )


@dataclass(frozen=True, slots=True)
class _Format:
    channels: int
    rate: int


def _parse_format(body: bytes) -> _Format:
    if len(body) < 16:
        raise AudioError(
            f"expected a 'fmt ' chunk of at least 16 bytes, got {len(body)!r}",
            code="bad_wav_header",
        )
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise AudioError(
                f"expected a 40-byte WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk, got {len(body)!r}",
                code="bad_wav_header",
            )
        guid = body[24:40]
        (tag,) = struct.unpack_from("<H", guid)
        if guid[2:] != _GUID_TAIL:
            raise AudioError(
                f"expected a PCM sub-format GUID, got {guid.hex()!r}", code="compressed_wav"
            )
    if tag == _FLOAT:
        raise AudioError(
            f"expected 16-bit integer PCM samples, got {bits!r}-bit IEEE float",
            code="unsupported_sample_format",
        )
    if tag != _PCM:
        name = _FORMAT_NAMES.get(tag, f"format tag 0x{tag:04x}")
        raise AudioError(
            f"expected uncompressed PCM (format tag 1), got {name!r}", code="compressed_wav"
        )
    if bits != 16:
        raise AudioError(
            f"expected 16-bit PCM samples, got {bits!r}-bit", code="unsupported_sample_format"
        )
    if channels not in (1, 2):
        raise AudioError(
            f"expected 1 (mono) or 2 (stereo, down-mixed) channels, got {channels!r}",
            code="unsupported_channels",
        )
    check_sample_rate(rate)
    if block_align != 2 * channels or byte_rate != rate * block_align:
        raise AudioError(
            f"expected block align {2 * channels!r} and byte rate {rate * 2 * channels!r}"
            f" for {channels!r}-channel 16-bit audio at {rate!r} Hz,"
            f" got {block_align!r} and {byte_rate!r}",
            code="bad_wav_header",
        )
    return _Format(channels=channels, rate=rate)


def _to_mono(body: bytes, fmt: _Format) -> bytes:
    frame = 2 * fmt.channels
    if len(body) % frame:
        raise AudioError(
            f"expected a multiple of {frame!r} bytes of sample data, got {len(body)!r}",
            code="odd_byte_count",
        )
    if fmt.channels == 1:
        return body
    return stereo_to_mono(body)


def stereo_to_mono(stereo: bytes) -> bytes:
    """16-bit little-endian interleaved stereo to mono, each sample the mean of its channels."""
    samples = array.array("h")
    samples.frombytes(stereo)
    if sys.byteorder == "big":  # pragma: no cover - little-endian hosts only in CI
        samples.byteswap()
    mono = array.array(
        "h", [(a + b) >> 1 for a, b in zip(samples[0::2], samples[1::2], strict=True)]
    )
    if sys.byteorder == "big":  # pragma: no cover
        mono.byteswap()
    return mono.tobytes()


def check_sample_rate(rate: int) -> None:
    """Raise AudioError unless ``rate`` is an integer from 8000 to 48000 Hz."""
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(
            f"expected an integer sample rate from {MIN_RATE!r} to {MAX_RATE!r} Hz, got {rate!r}",
            code="unsupported_sample_rate",
        )


def _check_length(audio: Audio, max_seconds: float) -> None:
    if not (math.isfinite(max_seconds) and max_seconds > 0):
        raise AudioError(
            f"expected a positive finite max_seconds, got {max_seconds!r}", code="bad_limit"
        )
    if audio.duration > max_seconds:
        raise AudioError(
            f"expected at most {max_seconds!r} s of audio, got {audio.duration:.3f} s",
            code="audio_too_long",
        )
