"""A real wyoming-satellite (PyPI, its own venv) as the peer, with a bridge playing Home
Assistant's part: the satellite streams its microphone; the bridge sends that audio to
askfirst's speech-to-text exactly as Home Assistant's ``stt.py`` does, then the transcript to
askfirst's conversation program with the satellite's device id, as ``conversation.py`` does.

wyoming-satellite is a Wyoming *server* that only Home Assistant connects to; it never talks to
a speech-to-text or conversation service itself, so a bridge in between is the only way to put
it in front of askfirst. It pins wyoming==1.4.1 (askfirst needs >= 1.7), hence the separate venv
that ``scripts/bootstrap`` creates.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.satellite import RunSatellite

from tests.skill.wyoming.conftest import DATA, Running

pytestmark = [pytest.mark.vosk, pytest.mark.slow]

SATELLITE = Path(__file__).parents[3] / ".venv-satellite" / "bin" / "python"
MIC = Path(__file__).parent / "mic.py"
UTTERANCE_SECONDS = 3.6
"""Home Assistant's VAD ends the utterance; the bridge cuts after this much audio."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _connect(port: int, deadline: float) -> AsyncTcpClient:
    while True:
        client = AsyncTcpClient("127.0.0.1", port)
        try:
            await client.connect()
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
            continue
        return client


async def _bridge(sat_port: int, askfirst: Running) -> tuple[list[Event], Event, Event]:
    """Home Assistant's part for one turn: returns (what the satellite sent before its audio,
    askfirst's transcript, askfirst's conversation answer)."""
    satellite = await _connect(sat_port, time.monotonic() + 60)
    seen: list[Event] = []
    try:
        await satellite.write_event(Describe().event())
        await satellite.write_event(RunSatellite().event())
        stt: AsyncTcpClient | None = None
        heard = 0.0
        while True:
            event = await asyncio.wait_for(satellite.read_event(), 30)
            assert event is not None, "the satellite closed"
            if event.type == "run-pipeline" and stt is None:
                seen.append(event)
                stt = AsyncTcpClient(askfirst.host, askfirst.port)
                await stt.connect()
                await stt.write_event(Transcribe(language="ko").event())
                await stt.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            elif AudioChunk.is_type(event.type) and stt is not None:
                chunk = AudioChunk.from_event(event)
                await stt.write_event(
                    AudioChunk(
                        rate=chunk.rate,
                        width=chunk.width,
                        channels=chunk.channels,
                        audio=chunk.audio,
                    ).event()
                )
                heard += chunk.seconds
                if heard >= UTTERANCE_SECONDS:
                    break
            elif not AudioChunk.is_type(event.type):
                seen.append(event)
        assert stt is not None
        await stt.write_event(AudioStop().event())
        while (reply := await asyncio.wait_for(stt.read_event(), 30)) is not None:
            if reply.type in ("transcript", "error"):
                break
        await stt.disconnect()
        assert reply is not None and reply.type == "transcript", reply
        turn = Transcript(
            text=reply.data["text"],
            language="ko",
            context={
                "conversation_id": "01JSATELLITE",
                "device_id": "ha-device-test-sat",
                "satellite_id": "assist_satellite.test_sat",
            },
        )
        async with AsyncTcpClient(askfirst.host, askfirst.port) as agent:
            await agent.write_event(turn.event())
            answer = await asyncio.wait_for(agent.read_event(), 30)
        assert answer is not None
        await satellite.write_event(Transcript(text=reply.data["text"]).event())
        return seen, reply, answer
    finally:
        await satellite.disconnect()


def test_wyoming_satellite_through_a_home_assistant_bridge(ko_server: Running) -> None:
    if not SATELLITE.exists():
        pytest.skip(f"wyoming-satellite venv missing at {SATELLITE} (scripts/bootstrap makes it)")
    port = _free_port()
    process = subprocess.Popen(
        [
            str(SATELLITE),
            "-m",
            "wyoming_satellite",
            "--name",
            "test-sat",
            "--uri",
            f"tcp://127.0.0.1:{port}",
            "--mic-command",
            f"{sys.executable} {MIC} {DATA / 'plain_coffee.wav'}",
            "--no-zeroconf",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen, transcript, answer = asyncio.run(_bridge(port, ko_server))
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    assert any(e.type == "info" and e.data.get("satellite") for e in seen), seen
    [run] = [e for e in seen if e.type == "run-pipeline"]
    assert run.data["start_stage"] == "wake"  # no local wake word: Home Assistant's job
    text = transcript.data["text"]
    assert any("\uac00" <= ch <= "\ud7a3" for ch in text), (text, err[-2000:])
    # the conversation turn belongs to the satellite's Home Assistant device, and is audited
    ours = answer.data["context"]["askfirst"]
    assert answer.type in ("handled", "not-handled")
    assert ours["device_id"] == "ha:ha-device-test-sat"
    assert ko_server.service.pipeline.store.get_decision(ours["decision_id"]) is not None
