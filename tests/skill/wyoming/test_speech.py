"""Speech-to-text over Wyoming with the real Korean Vosk model: streamed 20 ms chunks give the
device API's transcript, conversions work, and a detection makes the turn a wake-word turn."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.wake import Detection

from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings
from askfirst.speech.audio import Audio, read_wav
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill.wyoming.conftest import (
    DATA,
    Running,
    exchange,
    make_service,
    of_type,
    run_service,
    utterance_events,
    wav_chunks,
    wyoming_settings,
)

pytestmark = pytest.mark.vosk

STREAM_END = ("transcript-stop", "error")


def device_api_transcript(
    settings: Settings, transcribers: TranscriberSet, tmp_path: Path, name: str
) -> str:
    """What ``POST /v1/utterances`` (multipart WAV) transcribes ``name`` as."""
    store = open_store(f"sqlite:///{tmp_path / 'device-api.db'}")
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=store,
        transcribers=transcribers,
        config=settings.turn_config(),
    )
    api_settings = settings.model_copy(update={"device_tokens": {"tok": "kitchen"}})
    client = create_app(api_settings, pipeline=pipeline).test_client()
    start = datetime.now(UTC)
    capture = {"trigger": "push_to_talk", "start": start.isoformat()}
    capture["end"] = (start + timedelta(seconds=3)).isoformat()
    response = client.post(
        "/v1/utterances",
        data={
            "audio": (io.BytesIO((DATA / name).read_bytes()), name),
            "capture": json.dumps(capture),
            "locale": "ko-KR",
        },
        headers={"Authorization": "Bearer tok"},
        content_type="multipart/form-data",
    )
    store.close()
    assert response.status_code == 200, response.get_data(as_text=True)
    text: str = response.get_json()["transcript"]
    return text


def test_describe_lists_the_korean_model_with_streaming(ko_server: Running) -> None:
    [event] = asyncio.run(exchange(ko_server, [Describe().event()], until=["info"]))
    [asr] = Info.from_event(event).asr
    assert asr.supports_transcript_streaming
    assert asr.models[0].languages == ["ko-KR", "ko"]


@pytest.mark.parametrize("name", ["wake_coffee.wav", "plain_shoes.wav", "plain_weather.wav"])
def test_streamed_20ms_chunks_give_the_device_api_transcript(
    ko_server: Running,
    settings: Settings,
    ko_transcribers: TranscriberSet,
    tmp_path: Path,
    name: str,
) -> None:
    received = asyncio.run(exchange(ko_server, utterance_events(DATA / name), until=STREAM_END))
    kinds = [e.type for e in received]
    # streaming order: start, chunks, the plain transcript, stop
    assert kinds[0] == "transcript-start" and kinds[-2:] == ["transcript", "transcript-stop"]
    assert set(kinds[1:-2]) <= {"transcript-chunk"}
    [transcript] = of_type(received, "transcript")
    text = transcript.data["text"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text), text
    assert text == device_api_transcript(settings, ko_transcribers, tmp_path, name)
    assert transcript.data["language"] == "ko"


def test_transcript_chunks_arrive_before_the_audio_ends(ko_server: Running) -> None:
    async def run() -> tuple[list[str], str]:
        start, chunks = wav_chunks(DATA / "wake_coffee.wav")
        early: list[str] = []
        async with AsyncTcpClient(ko_server.host, ko_server.port) as client:
            await client.write_event(start.event())
            for chunk in chunks:
                await client.write_event(chunk.event())
            # The audio is still open (no audio-stop yet): the words come while it streams.
            # Decoding runs behind the reading, so the marker is the first word, not a ping.
            while (event := await asyncio.wait_for(client.read_event(), 30)) is not None:
                if event.type == "transcript-chunk":
                    early.append(event.data["text"])
                    break
            await client.write_event(AudioStop().event())
            while (event := await asyncio.wait_for(client.read_event(), 30)) is not None:
                if event.type == "transcript":
                    return early, event.data["text"]
        raise AssertionError("no transcript")

    early, final = asyncio.run(run())
    assert early, "expected transcript-chunk events while the audio was still streaming"
    assert final.startswith("".join(early).strip().split(" ")[0])


@pytest.mark.parametrize(
    "name", ["wake_coffee_44k.wav", "wake_coffee_8k.wav", "wake_coffee_stereo.wav"]
)
def test_other_rates_and_stereo_give_the_device_api_transcript(
    ko_server: Running,
    settings: Settings,
    ko_transcribers: TranscriberSet,
    tmp_path: Path,
    name: str,
) -> None:
    received = asyncio.run(exchange(ko_server, utterance_events(DATA / name), until=STREAM_END))
    [transcript] = of_type(received, "transcript")
    text = transcript.data["text"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text), text
    assert text == device_api_transcript(settings, ko_transcribers, tmp_path, name)


def test_32_bit_audio_is_converted_to_the_same_transcript(ko_server: Running) -> None:
    audio = read_wav((DATA / "wake_coffee.wav").read_bytes())
    samples = memoryview(audio.pcm).cast("h")
    wide = b"".join(int(s * 65536).to_bytes(4, "little", signed=True) for s in samples)
    step = 320 * 4
    events = [
        AudioStart(rate=16000, width=4, channels=1).event(),
        *(
            AudioChunk(rate=16000, width=4, channels=1, audio=wide[i : i + step]).event()
            for i in range(0, len(wide), step)
        ),
        AudioStop().event(),
    ]
    wide_events = asyncio.run(exchange(ko_server, events, until=STREAM_END))
    plain = asyncio.run(
        exchange(ko_server, utterance_events(DATA / "wake_coffee.wav"), until=STREAM_END)
    )
    texts = [of_type(r, "transcript")[0].data["text"] for r in (wide_events, plain)]
    assert texts[0] == texts[1]


def test_detection_audio_and_transcript_make_a_wake_word_turn(ko_server: Running) -> None:
    before = [Detection(name="aria").event()]
    heard = asyncio.run(
        exchange(
            ko_server, utterance_events(DATA / "wake_coffee.wav", before=before), until=STREAM_END
        )
    )
    [transcript] = of_type(heard, "transcript")
    assert transcript.data["context"]["askfirst"]["trigger"] == "wake_word"
    # The conversation turn comes on a new connection, as Home Assistant sends it.
    text = transcript.data["text"]
    turn = Transcript(text=text, language="ko", context={"conversation_id": "c-wake"}).event()
    [answer] = asyncio.run(exchange(ko_server, [turn], until=("handled", "not-handled", "error")))
    ours = answer.data["context"]["askfirst"]
    assert ours["tag_reasons"] == ["wake_word_verified"], ours
    store = ko_server.service.pipeline.store
    assert store.get_decision(ours["decision_id"]) is not None
    exported = io.StringIO()
    assert store.audit_export(exported) >= 1
    assert ours["decision_id"] in exported.getvalue()
    assert store.audit_verify().ok


def test_run_pipeline_from_speech_to_text_is_push_to_talk(ko_server: Running) -> None:
    before = [RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.HANDLE).event()]
    heard = asyncio.run(
        exchange(
            ko_server, utterance_events(DATA / "plain_coffee.wav", before=before), until=STREAM_END
        )
    )
    [transcript] = of_type(heard, "transcript")
    turn = Transcript(text=transcript.data["text"], language="ko").event()
    [answer] = asyncio.run(exchange(ko_server, [turn], until=("handled", "not-handled", "error")))
    assert answer.data["context"]["askfirst"]["tag_reasons"] == ["push_to_talk"]


def test_a_chunk_with_another_rate_is_an_error_and_closes_a_transcription(
    ko_server: Running,
) -> None:
    _, chunks = wav_chunks(DATA / "wake_coffee.wav")
    wrong = AudioChunk(rate=8000, width=2, channels=1, audio=chunks[1].audio)
    events = [*utterance_events(DATA / "wake_coffee.wav")[:3], wrong.event()]
    received = asyncio.run(exchange(ko_server, events))  # until the server closes
    assert [e.type for e in received] == ["transcript-start", "error"]
    assert received[-1].data["code"] == "audio-format-changed"
    assert "16000 Hz" in received[-1].data["text"]


def test_disconnecting_mid_utterance_frees_the_recogniser(ko_server: Running) -> None:
    async def hang_up() -> None:
        start, chunks = wav_chunks(DATA / "wake_coffee.wav")
        async with AsyncTcpClient(ko_server.host, ko_server.port) as client:
            await client.write_event(start.event())
            for chunk in chunks[:40]:
                await client.write_event(chunk.event())

    for _ in range(3):  # more than the pool's two recognisers: each must have been returned
        asyncio.run(hang_up())
    received = asyncio.run(
        exchange(ko_server, utterance_events(DATA / "plain_shoes.wav"), until=STREAM_END)
    )
    assert of_type(received, "transcript")


def test_a_peer_silent_in_the_middle_of_an_utterance_is_closed(
    ko_server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfirst.skill.wyoming import handler

    monkeypatch.setattr(handler, "UTTERANCE_IDLE_SECONDS", 0.5)
    start, chunks = wav_chunks(DATA / "wake_coffee.wav")
    events = [start.event(), *(c.event() for c in chunks[:10])]
    received = asyncio.run(exchange(ko_server, events))  # reads until the server closes
    assert received[-1].type == "error", received
    assert received[-1].data["code"] == "utterance-timeout"


class RecordingOpening:
    """An opening listener (the broadcast matcher's hook) that keeps what it was given."""

    def __init__(self) -> None:
        self.given: list[tuple[str, datetime, float]] = []

    def opening(
        self, *, device_id: str, household: str, utterance_id: str, at: datetime, audio: Audio
    ) -> None:
        self.given.append((device_id, at, audio.duration))


def test_the_opening_seconds_are_handed_over_before_the_audio_ends(ko_server: Running) -> None:
    listener = RecordingOpening()
    ko_server.service.opening = listener

    async def run() -> list[tuple[str, datetime, float]]:
        start, chunks = wav_chunks(DATA / "wake_coffee.wav")
        async with AsyncTcpClient(ko_server.host, ko_server.port) as client:
            await client.write_event(start.event())
            for chunk in chunks[:125]:  # 2.5 s
                await client.write_event(chunk.event())
            await client.write_event(Event(type="ping"))
            while (event := await asyncio.wait_for(client.read_event(), 30)) is not None:
                if event.type == "pong":
                    break
            before_stop = list(listener.given)
            await client.write_event(AudioStop().event())
            while (event := await asyncio.wait_for(client.read_event(), 30)) is not None:
                if event.type == "transcript":
                    break
        return before_stop

    before_stop = asyncio.run(run())
    assert len(before_stop) == 1 and len(listener.given) == 1
    device, at, seconds = before_stop[0]
    assert device == "living-room" and seconds == pytest.approx(2.0)
    assert abs((datetime.now(UTC) - at).total_seconds()) < 60


@pytest.fixture
def held_server(tmp_path: Path, ko_transcribers: TranscriberSet) -> Iterator[Running]:
    """The Korean service with a hold: a wake-word turn waits 1.5 s for peers (generous, so a
    loaded test machine cannot outrun it)."""
    settings = wyoming_settings(
        tmp_path, broadcast_hold_seconds=1.5, device_tokens={"tok-tv": TV_DEVICE}
    )
    running = run_service(make_service(settings, ko_transcribers))
    yield running
    running.stop()
    running.service.pipeline.store.close()


TV_DEVICE = {"device": "tv-b", "household": "home-b"}


def wake_turn(running: Running, name: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """Home Assistant's two connections for one wake-word utterance: speech-to-text with a
    detection first, then the conversation turn (with ``context``, as Home Assistant sends a
    satellite's); returns askfirst's context of the answer."""
    before = [Detection(name="aria").event()]
    heard = asyncio.run(
        exchange(running, utterance_events(DATA / name, before=before), until=STREAM_END)
    )
    [transcript] = of_type(heard, "transcript")
    turn = Transcript(text=transcript.data["text"], language="ko", context=context).event()
    [answer] = asyncio.run(exchange(running, [turn], until=("handled", "not-handled", "error")))
    ours: dict[str, Any] = answer.data["context"]["askfirst"]
    return ours


def test_a_wake_word_stream_is_registered_from_its_opening(held_server: Running) -> None:
    """The opening's acoustic print is registered under the id the turn is decided under, while
    the audio still streams; the whole turn then adds its transcript print to that same entry."""
    started = datetime.now(UTC)
    ours = wake_turn(held_server, "wake_coffee.wav")
    pipeline = held_server.service.pipeline
    decision = pipeline.get_decision(ours["decision_id"])
    assert decision is not None
    [entry] = pipeline.store.peers(around=started, seconds=60, exclude_device="nobody")
    assert entry.device_id == "living-room" and entry.household == "kim"
    assert entry.utterance_id == decision.utterance_id
    assert entry.audio_print and entry.text_print
    assert entry.noted_at is not None and started <= entry.noted_at <= datetime.now(UTC)


def test_a_stream_and_a_device_api_capture_of_one_advert_in_two_homes_are_both_ambient(
    held_server: Running,
) -> None:
    """One advert, two homes at once: a Home Assistant satellite (streamed, registered from its
    opening) and a device-API speaker (a whole WAV, registered before its transcription).
    Neither is prompted."""
    pipeline = held_server.service.pipeline
    client = create_app(held_server.service.settings, pipeline=pipeline).test_client()
    start = datetime.now(UTC)

    def device_api(prefer: str) -> tuple[int, dict[str, Any]]:
        capture = {"trigger": "wake_word", "start": start.isoformat()}
        capture["end"] = (start + timedelta(seconds=3)).isoformat()
        response = client.post(
            "/v1/utterances",
            data={
                "audio": (io.BytesIO((DATA / "wake_coffee.wav").read_bytes()), "advert.wav"),
                "capture": json.dumps(capture),
                "locale": "ko-KR",
                "utterance_id": "tv-1",
            },
            headers={"Authorization": "Bearer tok-tv", "Prefer": prefer},
            content_type="multipart/form-data",
        )
        body = response.get_json()
        assert isinstance(body, dict)
        return response.status_code, body

    with ThreadPoolExecutor(1) as pool:
        upload = pool.submit(device_api, "respond-async")  # both homes hear it at once
        ours = wake_turn(held_server, "wake_coffee.wav")
        status, tv = upload.result(timeout=60)
    assert ours["outcome"] == "broadcast" and "broadcast" in ours["tag_reasons"], ours
    assert status == 200, tv  # audio is never deferred: a resend would transcribe it again
    assert (tv["outcome"], tv["tag"], tv["offer"]) == ("broadcast", "ambient", None)
    assert tv["heard_by"] == ["living-room"]


def test_an_opening_moves_to_the_satellite_the_conversation_turn_names(
    held_server: Running,
) -> None:
    """Home Assistant's speech-to-text names no device, so the opening is registered under the
    listener; the conversation turn names the satellite: the registration becomes that
    device's, keeping its time, so the turn does not wait the hold again and one capture is one
    entry (answered), not an orphan."""
    started = datetime.now(UTC)
    ours = wake_turn(held_server, "wake_coffee.wav", context={"device_id": "sat-1"})
    pipeline = held_server.service.pipeline
    decision = pipeline.get_decision(ours["decision_id"])
    assert decision is not None
    [entry] = pipeline.store.peers(around=started, seconds=60, exclude_device="nobody")
    assert (entry.device_id, entry.household) == ("ha:sat-1", "kim")
    assert entry.utterance_id == decision.utterance_id and entry.answered
    assert entry.audio_print and entry.text_print
