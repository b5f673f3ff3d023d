"""What ``audio-start`` formats are accepted, and what the recogniser is given for each."""

from __future__ import annotations

import array

import pytest
from wyoming.audio import AudioChunk, AudioStart

from askfirst.skill.wyoming.conversion import Converter, format_of
from askfirst.skill.wyoming.errors import WyomingError


@pytest.mark.parametrize(
    ("rate", "width", "channels", "out_rate"),
    [
        (16000, 2, 1, 16000),
        (8000, 1, 1, 8000),
        (44100, 3, 2, 44100),
        (48000, 4, 2, 48000),
        (96000, 2, 1, 16000),  # above what Vosk takes: resampled
        (192000, 2, 2, 16000),
    ],
)
def test_accepted_formats_become_16_bit_mono(
    rate: int, width: int, channels: int, out_rate: int
) -> None:
    converter = Converter(format_of(AudioStart(rate=rate, width=width, channels=channels)))
    assert converter.rate == out_rate
    frames = rate // 50  # 20 ms
    chunk = AudioChunk(rate, width, channels, b"\x10" * (frames * width * channels))
    pcm = converter.convert(chunk)
    assert len(pcm) % 2 == 0
    assert abs(len(pcm) // 2 - out_rate // 50) <= 2


@pytest.mark.parametrize(
    ("rate", "width", "channels", "says"),
    [
        (4000, 2, 1, "rate: expected 8000..192000 Hz"),
        (384000, 2, 1, "rate: expected 8000..192000 Hz"),
        (16000, 5, 1, "width: expected one of (1, 2, 3, 4)"),
        (16000, 2, 6, "channels: expected one of (1, 2)"),
        (16000, 2, 0, "channels"),
        ("16000", 2, 1, "rate"),
        (16000.0, 2, 1, "rate"),
        (True, 2, 1, "rate"),
    ],
)
def test_refused_formats_name_what_is_accepted(
    rate: object, width: int, channels: int, says: str
) -> None:
    with pytest.raises(WyomingError, match=says.replace("(", r"\(").replace(")", r"\)")) as err:
        format_of(AudioStart(rate=rate, width=width, channels=channels))  # type: ignore[arg-type]
    assert err.value.code == "unsupported-audio-format"


def test_16_bit_mono_passes_through_untouched_and_stereo_is_averaged() -> None:
    mono = Converter(format_of(AudioStart(16000, 2, 1)))
    data = array.array("h", [1, -2, 300, -400]).tobytes()
    assert mono.convert(AudioChunk(16000, 2, 1, data)) == data
    stereo = Converter(format_of(AudioStart(16000, 2, 2)))
    both = array.array("h", [100, 300, -100, -300]).tobytes()
    assert array.array("h", stereo.convert(AudioChunk(16000, 2, 2, both))).tolist() == [200, -200]


@pytest.mark.parametrize(
    ("chunk", "code"),
    [
        (AudioChunk(8000, 2, 1, b"\0" * 320), "audio-format-changed"),
        (AudioChunk(16000, 2, 2, b"\0" * 640), "audio-format-changed"),
        (AudioChunk(16000, 2, 1, b"\0" * 321), "partial-frame"),
    ],
)
def test_chunks_that_do_not_match_audio_start_are_refused(chunk: AudioChunk, code: str) -> None:
    converter = Converter(format_of(AudioStart(16000, 2, 1)))
    with pytest.raises(WyomingError) as err:
        converter.convert(chunk)
    assert err.value.code == code
