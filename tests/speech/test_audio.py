"""Audio parsing: what is accepted, and a clear AudioError for everything else."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.speech.audio import Audio, from_raw_pcm, read_wav
from askfirst.speech.errors import AudioError, SpeechError

DATA = Path(__file__).resolve().parents[1] / "data" / "ko"


def fmt_chunk(
    *,
    tag: int = 1,
    channels: int = 1,
    rate: int = 16000,
    bits: int = 16,
    byte_rate: int | None = None,
    block_align: int | None = None,
    extra: bytes = b"",
) -> bytes:
    align = block_align if block_align is not None else channels * bits // 8
    brate = byte_rate if byte_rate is not None else rate * align
    body = struct.pack("<HHIIHH", tag, channels, rate, brate, align, bits) + extra
    return b"fmt " + struct.pack("<I", len(body)) + body


def chunk(cid: bytes, body: bytes, *, size: int | None = None) -> bytes:
    pad = b"\0" if len(body) % 2 else b""
    return cid + struct.pack("<I", len(body) if size is None else size) + body + pad


def wav(*chunks: bytes, riff_size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def extensible(subformat: int, *, bits: int = 16, tail: bytes | None = None) -> bytes:
    guid_tail = tail if tail is not None else bytes.fromhex("000000001000800000aa00389b71")
    extra = struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", subformat) + guid_tail
    return fmt_chunk(tag=0xFFFE, bits=bits, extra=extra)


SAMPLES = struct.pack("<4h", 0, 1000, -1000, 32767)


def test_mono_fixture_parses_with_rate_and_duration() -> None:
    audio = read_wav((DATA / "wake_coffee.wav").read_bytes())
    assert audio.sample_rate == 16000
    assert audio.duration == pytest.approx(3.439, abs=0.01)


@pytest.mark.parametrize(
    ("name", "rate"), [("wake_coffee_8k.wav", 8000), ("wake_coffee_44k.wav", 44100)]
)
def test_other_rates_are_kept_as_declared(name: str, rate: int) -> None:
    audio = read_wav((DATA / name).read_bytes())
    assert audio.sample_rate == rate
    assert audio.duration == pytest.approx(3.439, abs=0.01)


def test_stereo_is_down_mixed_to_the_channel_average() -> None:
    left_right = struct.pack("<6h", 100, 300, -200, -400, 32767, 32767)
    audio = read_wav(wav(fmt_chunk(channels=2), chunk(b"data", left_right)))
    assert audio.pcm == struct.pack("<3h", 200, -300, 32767)
    assert audio.sample_rate == 16000


def test_stereo_fixture_matches_mono_length() -> None:
    mono = read_wav((DATA / "wake_coffee.wav").read_bytes())
    stereo = read_wav((DATA / "wake_coffee_stereo.wav").read_bytes())
    assert len(stereo.pcm) == len(mono.pcm)


def test_unknown_chunks_and_odd_padding_are_skipped() -> None:
    data = wav(chunk(b"LIST", b"abc"), fmt_chunk(), chunk(b"junk", b"x"), chunk(b"data", SAMPLES))
    assert read_wav(data).pcm == SAMPLES


def test_extensible_pcm_is_accepted() -> None:
    assert read_wav(wav(extensible(1), chunk(b"data", SAMPLES))).pcm == SAMPLES


BAD_WAVS: list[tuple[str, bytes, str, str]] = [
    ("empty", b"", "empty_audio", "0 bytes"),
    ("not a wav", b"ID3\x03" + b"\0" * 40, "not_a_wav", "RIFF/WAVE"),
    ("short", b"RIFF", "not_a_wav", "RIFF/WAVE"),
    (
        "8-bit",
        wav(fmt_chunk(bits=8), chunk(b"data", b"\x80" * 8)),
        "unsupported_sample_format",
        "8-bit",
    ),
    (
        "24-bit",
        wav(fmt_chunk(bits=24), chunk(b"data", b"\0" * 6)),
        "unsupported_sample_format",
        "24-bit",
    ),
    (
        "32-bit",
        wav(fmt_chunk(bits=32), chunk(b"data", b"\0" * 8)),
        "unsupported_sample_format",
        "32-bit",
    ),
    (
        "float",
        wav(fmt_chunk(tag=3, bits=32), chunk(b"data", b"\0" * 8)),
        "unsupported_sample_format",
        "float",
    ),
    (
        "mu-law",
        wav(fmt_chunk(tag=7, bits=8), chunk(b"data", b"\0" * 8)),
        "compressed_wav",
        "mu-law",
    ),
    ("mp3", wav(fmt_chunk(tag=0x55), chunk(b"data", b"\0" * 8)), "compressed_wav", "MP3"),
    (
        "extensible float",
        wav(extensible(3, bits=32), chunk(b"data", b"\0" * 8)),
        "unsupported_sample_format",
        "float",
    ),
    (
        "extensible odd guid",
        wav(extensible(1, tail=b"\1" * 14), chunk(b"data", SAMPLES)),
        "compressed_wav",
        "GUID",
    ),
    (
        "6 channels",
        wav(fmt_chunk(channels=6), chunk(b"data", b"\0" * 24)),
        "unsupported_channels",
        "6",
    ),
    (
        "4 kHz",
        wav(fmt_chunk(rate=4000), chunk(b"data", SAMPLES)),
        "unsupported_sample_rate",
        "4000",
    ),
    (
        "96 kHz",
        wav(fmt_chunk(rate=96000), chunk(b"data", SAMPLES)),
        "unsupported_sample_rate",
        "96000",
    ),
    (
        "byte rate lies",
        wav(fmt_chunk(byte_rate=1234), chunk(b"data", SAMPLES)),
        "bad_wav_header",
        "1234",
    ),
    (
        "short fmt",
        wav(chunk(b"fmt ", b"\1\0\1\0"), chunk(b"data", SAMPLES)),
        "bad_wav_header",
        "16 bytes",
    ),
    ("data before fmt", wav(chunk(b"data", SAMPLES), fmt_chunk()), "bad_wav_header", "before"),
    ("no data", wav(fmt_chunk()), "wav_truncated", "'data'"),
    ("empty data", wav(fmt_chunk(), chunk(b"data", b"")), "empty_audio", "empty"),
    ("odd bytes", wav(fmt_chunk(), chunk(b"data", b"\0\0\0")), "odd_byte_count", "3"),
    (
        "data chunk lies",
        wav(fmt_chunk(), chunk(b"data", SAMPLES, size=80000)),
        "wav_truncated",
        "80000",
    ),
    (
        "riff size lies",
        wav(fmt_chunk(), chunk(b"data", SAMPLES), riff_size=999999),
        "wav_truncated",
        "1000007",
    ),
    ("cut off", wav(fmt_chunk(), chunk(b"data", SAMPLES))[:-3], "wav_truncated", "truncated"),
]


@pytest.mark.parametrize(("case", "data", "code", "needle"), BAD_WAVS, ids=[c[0] for c in BAD_WAVS])
def test_bad_wav_is_refused_with_code_and_message(
    case: str, data: bytes, code: str, needle: str
) -> None:
    with pytest.raises(AudioError) as info:
        read_wav(data)
    assert info.value.code == code, case
    assert needle in info.value.message
    assert "expected" in info.value.message


def test_too_long_wav_is_refused() -> None:
    data = wav(fmt_chunk(rate=8000), chunk(b"data", b"\0\0" * 8000 * 3))
    with pytest.raises(AudioError) as info:
        read_wav(data, max_seconds=2.5)
    assert info.value.code == "audio_too_long"
    assert "2.5" in info.value.message and "3.000" in info.value.message
    assert read_wav(data, max_seconds=3.0).duration == 3.0


def test_raw_pcm_with_declared_rate() -> None:
    audio = from_raw_pcm(b"\0\0" * 8000, sample_rate=8000)
    assert audio == Audio(b"\0\0" * 8000, 8000)
    assert audio.duration == 1.0
    assert audio.head(0.25).duration == 0.25
    assert audio.head(5.0) == audio


@pytest.mark.parametrize(
    ("data", "rate", "limit", "code"),
    [
        (b"", 16000, 30.0, "empty_audio"),
        (b"\0\0\0", 16000, 30.0, "odd_byte_count"),
        (b"\0\0", 7999, 30.0, "unsupported_sample_rate"),
        (b"\0\0", 48001, 30.0, "unsupported_sample_rate"),
        (b"\0\0", True, 30.0, "unsupported_sample_rate"),
        (b"\0\0", 16000.0, 30.0, "unsupported_sample_rate"),
        (b"\0\0" * 16001, 16000, 1.0, "audio_too_long"),
        (b"\0\0", 16000, float("nan"), "bad_limit"),
        (b"\0\0", 16000, -1.0, "bad_limit"),
        ("text", 16000, 30.0, "not_bytes"),
    ],
)
def test_bad_raw_pcm_is_refused(data: object, rate: object, limit: float, code: str) -> None:
    with pytest.raises(AudioError) as info:
        from_raw_pcm(data, sample_rate=rate, max_seconds=limit)  # type: ignore[arg-type]
    assert info.value.code == code


def test_audio_repr_does_not_dump_samples() -> None:
    assert repr(Audio(b"\0\0" * 16000, 16000)) == "Audio(sample_rate=16000, duration=1.000)"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_give_audio_or_audio_error(data: bytes) -> None:
    try:
        audio = read_wav(data)
    except AudioError as error:
        assert error.message
    else:
        assert isinstance(audio, Audio)


@settings(max_examples=300, deadline=None)
@given(
    st.builds(
        lambda fmt, rest, riff: b"RIFF" + struct.pack("<I", riff) + b"WAVE" + fmt + rest,
        st.sampled_from([fmt_chunk(), fmt_chunk(channels=2), extensible(1), b""]),
        st.binary(max_size=120),
        st.integers(min_value=0, max_value=2**32 - 1),
    )
)
def test_wav_shaped_garbage_gives_audio_or_speech_error(data: bytes) -> None:
    try:
        read_wav(data)
    except SpeechError as error:
        assert isinstance(error, AudioError)
