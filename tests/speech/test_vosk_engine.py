"""The Vosk transcriber on the real (dither-free) Korean model: properties, not exact text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from askfirst.speech.audio import Audio, from_raw_pcm
from askfirst.speech.errors import AudioError, ModelNotFoundError, SpeechError
from askfirst.speech.locale import load_locale
from askfirst.speech.tagging import wake_word_opens
from askfirst.speech.transcriber import Transcript
from askfirst.speech.vosk_engine import VoskTranscriber, loaded_model_count, shared_model
from tests.speech.conftest import ko_audio

pytestmark = pytest.mark.vosk

WAKE = ("wake_coffee", "wake_headphones", "wake_weather", "wake_music")
NO_WAKE = ("plain_coffee", "plain_dinner", "plain_shoes", "plain_weather", "mid_wake", "silence")
# The pipeline's spotting grammar and head length: the locale file is the one source.
KO = load_locale("ko-KR")


def assert_same(got: Transcript, want: Transcript) -> None:
    """Equal up to the engine's time precision.

    Vosk reports times since a recognizer was made with 6 decimals; made relative to the
    utterance they can differ by 1 ms between a fresh and a reused recognizer.
    """
    assert got.text == want.text
    assert got.alternatives == want.alternatives
    assert [(w.text, w.conf) for w in got.words] == [(w.text, w.conf) for w in want.words]
    for a, b in zip(got.words, want.words, strict=True):
        assert abs(a.start - b.start) <= 0.0011 and abs(a.end - b.end) <= 0.0011, (a, b)


def opens_with_wake_word(spotted: Transcript) -> bool:
    return bool(spotted.words) and spotted.words[0].text == "아리아"


def spot_as_the_pipeline_does(transcriber: VoskTranscriber, name: str) -> Transcript:
    return transcriber.spot(ko_audio(name), phrases=KO.spotting_phrases, seconds=KO.spot_seconds)


def test_words_come_back_with_times_and_confidences(ko_transcriber: VoskTranscriber) -> None:
    audio = ko_audio("wake_coffee")
    transcript = ko_transcriber.transcribe(audio)
    assert transcript.words
    assert transcript.text == " ".join(w.text for w in transcript.words)
    assert transcript.alternatives == ()
    for word in transcript.words:
        assert 0.0 <= word.start <= word.end <= audio.duration + 0.05
        assert 0.0 < word.conf <= 1.0
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)


def test_silence_gives_empty_text(ko_transcriber: VoskTranscriber) -> None:
    assert ko_transcriber.transcribe(ko_audio("silence")) == Transcript(text="", words=())


def test_reused_recognizers_give_the_same_relative_times(ko_transcriber: VoskTranscriber) -> None:
    audio = ko_audio("wake_headphones")
    runs = [ko_transcriber.transcribe(audio) for _ in range(3)]
    assert_same(runs[1], runs[0])
    assert_same(runs[2], runs[0])
    assert runs[0].words[0].start < 0.5


@pytest.mark.parametrize(
    ("name", "rate"), [("wake_coffee_8k", 8000), ("wake_coffee", 16000), ("wake_coffee_44k", 44100)]
)
def test_sample_rates_are_honoured(ko_transcriber: VoskTranscriber, name: str, rate: int) -> None:
    audio = ko_audio(name)
    assert audio.sample_rate == rate
    transcript = ko_transcriber.transcribe(audio)
    assert transcript.words
    # Times are in seconds of this clip whatever the rate: speech ends inside the clip, late on.
    assert audio.duration * 0.6 < transcript.words[-1].end <= audio.duration + 0.05


def test_stereo_fixture_transcribes_like_mono(ko_transcriber: VoskTranscriber) -> None:
    stereo = ko_transcriber.transcribe(ko_audio("wake_coffee_stereo"))
    assert_same(stereo, ko_transcriber.transcribe(ko_audio("wake_coffee")))


@pytest.mark.parametrize("chunk", [2, 3200, 4410 * 2 + 6, 10**7])
def test_streaming_equals_batch(ko_transcriber: VoskTranscriber, chunk: int) -> None:
    audio = ko_audio("wake_weather")
    batch = ko_transcriber.transcribe(audio)
    partials = []
    with ko_transcriber.stream(sample_rate=audio.sample_rate) as stream:
        step = chunk if chunk > 2 else 6402  # 2 bytes at a time is too slow in Python; odd-ish
        for i in range(0, len(audio.pcm), step):
            partials.append(stream.feed(audio.pcm[i : i + step]))
        final = stream.finish()
    assert_same(final, batch)
    if chunk < len(audio.pcm):
        assert any(partials)


def test_endpointed_segments_are_joined_with_utterance_times(
    ko_transcriber: VoskTranscriber,
) -> None:
    first, second = ko_audio("wake_coffee"), ko_audio("plain_dinner")
    gap = b"\0\0" * 16000 * 2  # 2 s of silence: Vosk's endpointer splits here
    joined = from_raw_pcm(first.pcm + gap + second.pcm, sample_rate=16000)
    whole = ko_transcriber.transcribe(joined)
    alone = ko_transcriber.transcribe(first)
    head = whole.words[: len(alone.words)]
    # The first segment was decoded on into the gap, so its times may move by a frame.
    assert [w.text for w in head] == [w.text for w in alone.words]
    for got, want in zip(head, alone.words, strict=True):
        assert got.start == pytest.approx(want.start, abs=0.05)
        assert got.end == pytest.approx(want.end, abs=0.05)
    later = whole.words[len(alone.words) :]
    assert later and later[0].start >= first.duration + 1.5


def test_alternatives_when_asked(ko_transcriber: VoskTranscriber) -> None:
    audio = ko_audio("plain_weather")
    plain = ko_transcriber.transcribe(audio)
    with_alts = ko_transcriber.transcribe(audio, alternatives=3)
    assert with_alts.text == plain.text and with_alts.words == plain.words
    assert 1 <= len(with_alts.alternatives) <= 3
    assert all(with_alts.alternatives) and len(set(with_alts.alternatives)) == len(
        with_alts.alternatives
    )


def test_threads_share_one_model_and_agree_with_one_thread(
    ko_transcriber: VoskTranscriber, ko_model_dir: Path
) -> None:
    audios = [ko_audio("wake_coffee"), ko_audio("plain_shoes")]
    expected = [ko_transcriber.transcribe(a) for a in audios]
    models_before = loaded_model_count()
    second = VoskTranscriber(ko_model_dir, pool_size=1)
    second.close()
    assert loaded_model_count() == models_before  # a second transcriber reuses the model

    def work(order: int) -> list[Transcript]:
        return [ko_transcriber.transcribe(a) for a in (audios if order == 0 else audios[::-1])]

    with ThreadPoolExecutor(max_workers=2) as pool:
        forward, backward = pool.map(work, (0, 1))
    for got, want in zip([*forward, *backward], [*expected, *expected[::-1]], strict=True):
        assert_same(got, want)


@pytest.mark.parametrize("name", WAKE + NO_WAKE)
def test_wake_word_spotting_accepts_only_clips_opening_with_it(
    ko_transcriber: VoskTranscriber, name: str
) -> None:
    spotted = spot_as_the_pipeline_does(ko_transcriber, name)
    assert opens_with_wake_word(spotted) is (name in WAKE), spotted.text
    assert wake_word_opens(spotted.text, KO) is (name in WAKE), spotted.text


def test_every_spotting_phrase_is_in_the_model_vocabulary(
    ko_transcriber: VoskTranscriber, caplog: pytest.LogCaptureFixture
) -> None:
    """Words the model lacks belong out of the locale file, not dropped with a runtime warning."""
    model = shared_model(ko_transcriber.model_dir)
    missing = [
        w for p in KO.spotting_phrases for w in p.split() if model.vosk_model_find_word(w) < 0
    ]
    assert missing == []
    with caplog.at_level("WARNING", logger="askfirst.speech.vosk_engine"):
        spot_as_the_pipeline_does(ko_transcriber, "wake_music")
    assert [r.getMessage() for r in caplog.records] == []


@pytest.mark.parametrize("name", ["wake_coffee", "plain_dinner", "mid_wake", "silence"])
def test_grammar_output_stays_inside_the_grammar(
    ko_transcriber: VoskTranscriber, name: str
) -> None:
    phrases = ("아리아", "오늘", "우리")
    spotted = ko_transcriber.spot(ko_audio(name), phrases=phrases, seconds=2.0)
    allowed = {*phrases, ko_transcriber.unk}
    assert ko_transcriber.unk == "<UNK>"  # the Korean model spells it this way, not "[unk]"
    assert {w.text for w in spotted.words} <= allowed
    assert all(w.end <= 2.0 + 0.05 for w in spotted.words)


def test_spot_leaves_out_unknown_phrases_and_refuses_when_none_is_known(
    ko_transcriber: VoskTranscriber,
) -> None:
    audio = ko_audio("wake_coffee")
    with_unknown = ko_transcriber.spot(
        audio, phrases=(*KO.spotting_phrases, "쀍쀍쀍"), seconds=KO.spot_seconds
    )
    assert opens_with_wake_word(with_unknown)
    assert with_unknown == spot_as_the_pipeline_does(ko_transcriber, "wake_coffee")
    with pytest.raises(SpeechError) as info:
        ko_transcriber.spot(audio, phrases=["쀍쀍쀍"])
    assert info.value.code == "phrase_not_in_vocabulary" and "쀍쀍쀍" in info.value.message


@pytest.mark.parametrize(
    ("phrases", "seconds"),
    [
        ("아리아", 2.0),
        ([], 2.0),
        (["아리아", ""], 2.0),
        (["아리아"], 0.0),
        (["아리아"], float("inf")),
    ],
)
def test_spot_refuses_bad_arguments(
    ko_transcriber: VoskTranscriber, phrases: object, seconds: float
) -> None:
    with pytest.raises(SpeechError):
        ko_transcriber.spot(ko_audio("silence"), phrases=phrases, seconds=seconds)  # type: ignore[arg-type]


def test_stream_lifecycle_and_bad_chunks(ko_transcriber: VoskTranscriber) -> None:
    before = ko_transcriber.pool_stats()
    stream = ko_transcriber.stream(sample_rate=16000)
    assert ko_transcriber.pool_stats().checked_out == before.checked_out + 1
    with pytest.raises(AudioError) as odd:
        stream.feed(b"\0\0\0")
    assert odd.value.code == "odd_byte_count"
    stream.feed(b"\0\0" * 8000)
    stream.close()
    stream.close()
    assert ko_transcriber.pool_stats().checked_out == before.checked_out
    with pytest.raises(SpeechError) as closed:
        stream.feed(b"\0\0")
    assert closed.value.code == "stream_closed"
    with ko_transcriber.stream(sample_rate=16000) as finished:
        finished.finish()
        with pytest.raises(SpeechError):
            finished.finish()
    assert ko_transcriber.pool_stats().checked_out == before.checked_out
    with pytest.raises(AudioError):
        ko_transcriber.stream(sample_rate=96000)


def test_stream_refuses_audio_past_the_limit(ko_model_dir: Path) -> None:
    engine = VoskTranscriber(ko_model_dir, pool_size=1, max_seconds=1.0)
    try:
        with engine.stream(sample_rate=8000) as stream:
            stream.feed(b"\0\0" * 8000)
            with pytest.raises(AudioError) as info:
                stream.feed(b"\0\0")
            assert info.value.code == "audio_too_long"
        assert engine.transcribe(Audio(b"\0\0" * 4000, 8000)).text == ""
    finally:
        engine.close()
    assert not engine.ready
    with pytest.raises(SpeechError):
        engine.stream(sample_rate=8000)


def test_pool_keeps_recognizers_warm(ko_transcriber: VoskTranscriber) -> None:
    ko_transcriber.transcribe(ko_audio("plain_shoes"))
    created = ko_transcriber.pool_stats().created
    for _ in range(3):
        ko_transcriber.transcribe(ko_audio("plain_shoes"))
    assert ko_transcriber.pool_stats().created == created


def test_missing_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        VoskTranscriber(tmp_path / "nope")
    assert "nope" in info.value.message and "expected" in info.value.message
