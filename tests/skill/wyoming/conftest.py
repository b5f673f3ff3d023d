"""A running ``askfirst wyoming`` service for the tests, and a Wyoming client that drives it.

The server runs in-process on its own event loop thread (a free port, the real handler and the
real pipeline on a temporary SQLite store); the client is the ``wyoming`` library's own
``AsyncTcpClient``, as Home Assistant uses it.
"""

from __future__ import annotations

import asyncio
import threading
import wave
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from wyoming.asr import Transcribe
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

from askfirst.policy.config import load_policy
from askfirst.skill.settings import Settings, WyomingListener, load_settings
from askfirst.skill.wyoming.server import Listening, start
from askfirst.skill.wyoming.service import Service
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.speech.conftest import dither_free_ko_model

DATA = Path(__file__).parents[2] / "data" / "ko"
LISTENER = WyomingListener(device_id="living-room", household="kim")


@dataclass
class Running:
    """A started service: where it listens and what it shares."""

    host: str
    port: int
    service: Service
    loop: asyncio.AbstractEventLoop
    server: Listening
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_service(service: Service) -> Running:
    """Start ``service`` on 127.0.0.1 and a free port, on an event loop of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="wyoming-test-server", daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start(service, "tcp://127.0.0.1:0"), loop).result(10)
    port = server.sockets[0].getsockname()[1]
    return Running("127.0.0.1", port, service, loop, server, thread)


def wyoming_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path / 'wyoming.db'}",
        "broadcast_hold_seconds": 0.0,
        "default_locale": "ko-KR",
        "device_tokens": {"tok-direct-1": "direct-peer"},
        "vosk_model": None,
        "vosk_models": {},
    }
    values.update(overrides)
    return load_settings(None, **values)


def make_service(
    settings: Settings, transcribers: TranscriberSet, listener: WyomingListener = LISTENER
) -> Service:
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=open_store(settings.store_url),
        transcribers=transcribers,
        config=settings.turn_config(),
    )
    return Service(pipeline=pipeline, settings=settings, listener=listener)


@pytest.fixture(scope="session")
def ko_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dither_free_ko_model(tmp_path_factory)


@pytest.fixture(scope="session")
def ko_transcribers(ko_model: Path) -> Iterator[TranscriberSet]:
    """The dither-free Korean model (so streaming and batch decode the same), loaded once."""
    from askfirst.speech.vosk_engine import VoskTranscriber

    transcribers = TranscriberSet({"ko-KR": VoskTranscriber(ko_model, pool_size=2)})
    yield transcribers
    transcribers.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return wyoming_settings(tmp_path)


@pytest.fixture
def text_server(settings: Settings) -> Iterator[Running]:
    """A service with no speech model: conversation turns and protocol errors only."""
    running = run_service(make_service(settings, TranscriberSet()))
    yield running
    running.stop()
    running.service.pipeline.close()


@pytest.fixture
def ko_server(settings: Settings, ko_transcribers: TranscriberSet) -> Iterator[Running]:
    """A service with the real Korean Vosk model."""
    running = run_service(make_service(settings, ko_transcribers))
    yield running
    running.stop()
    running.service.pipeline.store.close()  # the transcribers are shared by the session


# -- the client side ------------------------------------------------------------------------


def wav_chunks(path: Path, *, ms: int = 20) -> tuple[AudioStart, list[AudioChunk]]:
    """``audio-start`` and the ``audio-chunk`` s of a WAV file, ``ms`` milliseconds each."""
    with wave.open(str(path), "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        frames = wav.readframes(wav.getnframes())
    step = rate * ms // 1000 * width * channels
    chunks = [
        AudioChunk(rate=rate, width=width, channels=channels, audio=frames[i : i + step])
        for i in range(0, len(frames), step)
    ]
    return AudioStart(rate=rate, width=width, channels=channels), chunks


async def exchange(
    running: Running,
    events: Sequence[Event],
    *,
    until: Sequence[str] = (),
    timeout: float = 30.0,
) -> list[Event]:
    """Send ``events`` on one connection, then read until an event of a type in ``until``
    (or, with ``until`` empty, until the server closes); returns what was read."""
    received: list[Event] = []
    async with AsyncTcpClient(running.host, running.port) as client:
        for event in events:
            await client.write_event(event)
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout)
            if event is None:
                break
            received.append(event)
            if event.type in until:
                break
    return received


def utterance_events(
    path: Path, *, language: str | None = "ko", before: Sequence[Event] = (), ms: int = 20
) -> list[Event]:
    """What Home Assistant's speech-to-text sends for a WAV, after ``before``."""
    start, chunks = wav_chunks(path, ms=ms)
    return [
        *before,
        Transcribe(language=language).event(),
        start.event(),
        *(c.event() for c in chunks),
        AudioStop().event(),
    ]


def of_type(events: Sequence[Event], kind: str) -> list[Event]:
    return [e for e in events if e.type == kind]
