"""``askfirst wyoming`` over the wire, without a speech model: describe, conversation turns,
identity and triggers, and every kind of bad input answered with an ``error`` event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming.wake import Detection

from askfirst.skill.settings import WyomingDevice
from tests.skill.wyoming.conftest import (
    Running,
    exchange,
    make_service,
    run_service,
    wyoming_settings,
)

ANSWERS = ("handled", "not-handled", "error")


def turn(running: Running, text: str, **context: Any) -> Event:
    """One Home Assistant conversation turn: a new connection, ``transcript`` in, one answer."""
    language = context.pop("language", "en")
    sent = Transcript(text=text, language=language, context=context or None).event()
    received = asyncio.run(exchange(running, [sent], until=ANSWERS))
    assert len(received) == 1, received
    return received[0]


def test_describe_announces_a_handle_program_and_no_asr_without_models(
    text_server: Running,
) -> None:
    [event] = asyncio.run(exchange(text_server, [Describe().event()], until=["info"]))
    info = Info.from_event(event)
    assert info.asr == []
    [handle] = info.handle
    assert handle.name == "askfirst" and handle.installed
    assert not handle.supports_home_control
    assert {"en", "en-US", "ko", "ko-KR"} <= set(handle.models[0].languages)


def test_product_question_is_handled_with_the_offer_and_its_disclosure(
    text_server: Running,
) -> None:
    answer = turn(text_server, "Any deals on coffee?", conversation_id="01J-A", device_id="sat1")
    assert answer.type == "handled", answer
    assert "Sponsored by Morning Roast" in answer.data["text"]
    ours = answer.data["context"]["askfirst"]
    assert ours["offer_id"] == "coffee-morning-roast" and ours["permit"] is True
    assert ours["device_id"] == "ha:sat1"
    assert answer.data["context"]["conversation_id"] == "01J-A"
    # decided and audited like a device-API turn
    store = text_server.service.pipeline.store
    decision = store.get_decision(ours["decision_id"])
    assert decision is not None and decision.permit
    assert store.audit_verify().ok


def test_the_weather_is_not_handled_and_says_what_askfirst_is_for(text_server: Running) -> None:
    answer = turn(text_server, "What's the weather like tomorrow?", conversation_id="01J-B")
    assert answer.type == "not-handled", answer
    assert "products" in answer.data["text"]
    ours = answer.data["context"]["askfirst"]
    assert ours["permit"] is False
    assert text_server.service.pipeline.store.get_decision(ours["decision_id"]) is not None


def test_korean_product_question_is_handled(text_server: Running) -> None:
    answer = turn(text_server, "아리아, 커피 추천해 줘", language="ko", conversation_id="c-ko")
    assert answer.type == "handled", answer
    assert answer.data["context"]["askfirst"]["permit"] is True


def test_consent_commands_are_handled(text_server: Running) -> None:
    out = turn(text_server, "Stop offering me deals", conversation_id="c1")
    assert out.type == "handled" and "won't suggest" in out.data["text"]
    denied = turn(text_server, "Any deals on coffee?", conversation_id="c2")
    assert denied.type == "handled"
    assert denied.data["context"]["askfirst"]["permit"] is False
    assert "not to suggest" in denied.data["text"]
    back = turn(text_server, "You can offer me deals again", conversation_id="c3")
    assert back.type == "handled"
    offered = turn(text_server, "Any deals on coffee?", conversation_id="c4")
    assert offered.data["context"]["askfirst"]["permit"] is True
    why = turn(text_server, "Why did you suggest that?", conversation_id="c5")
    assert why.type == "handled" and "coffee" in why.data["text"]


def test_same_conversation_after_a_question_back_is_a_follow_up(text_server: Running) -> None:
    first = turn(text_server, "Any deals on coffee?", conversation_id="conv-1", device_id="d1")
    assert first.type == "handled"  # ends in "anything else?": a window opens
    # no wake word, no question mark: prompted only as a follow-up inside the window
    second = turn(text_server, "what about tea", conversation_id="conv-1", device_id="d1")
    assert second.data["context"]["askfirst"]["tag_reasons"] == ["follow_up_in_window"]
    # a new conversation is not a follow-up
    third = turn(text_server, "what about tea", conversation_id="conv-2", device_id="d1")
    assert third.data["context"]["askfirst"]["tag_reasons"] != ["follow_up_in_window"]


def test_home_assistant_device_is_mapped_to_the_configured_device_and_household(
    tmp_path: Any,
) -> None:
    from askfirst.turn.transcribers import TranscriberSet

    settings = wyoming_settings(
        tmp_path,
        wyoming_devices={
            "assist_satellite.kitchen": WyomingDevice(device_id="kitchen", household="lee")
        },
    )
    running = run_service(make_service(settings, TranscriberSet()))
    try:
        answer = turn(running, "Any deals on tea?", satellite_id="assist_satellite.kitchen")
        assert answer.data["context"]["askfirst"]["device_id"] == "kitchen"
        listener = turn(running, "Any deals on tea?")
        assert listener.data["context"]["askfirst"]["device_id"] == "living-room"
        token = turn(running, "Any deals on tea?", askfirst={"device_token": "tok-direct-1"})
        assert token.data["context"]["askfirst"]["device_id"] == "direct-peer"
        bad = turn(running, "Any deals on tea?", askfirst={"device_token": "nope"})
        assert (bad.type, bad.data["code"]) == ("error", "unknown-token")
    finally:
        running.stop()
        running.service.pipeline.close()


def test_detection_before_a_text_turn_makes_it_a_wake_word_turn(text_server: Running) -> None:
    events = [
        Detection(name="aria").event(),
        Transcript(text="coffee deals please", language="en").event(),
    ]
    [answer] = asyncio.run(exchange(text_server, events, until=ANSWERS))
    assert answer.data["context"]["askfirst"]["tag_reasons"] == ["wake_word_verified"]


# -- bad input ------------------------------------------------------------------------------


async def _errors_then_describe(running: Running, bad: list[Event]) -> list[Event]:
    """Send each bad event on one connection, read its answer, then check describe works."""
    answers = []
    async with AsyncTcpClient(running.host, running.port) as client:
        for event in bad:
            await client.write_event(event)
            answer = await asyncio.wait_for(client.read_event(), 10)
            assert answer is not None
            answers.append(answer)
        await client.write_event(Describe().event())
        info = await asyncio.wait_for(client.read_event(), 10)
        assert info is not None and info.type == "info"
        await client.write_event(Ping(text="still here").event())
        pong = await asyncio.wait_for(client.read_event(), 10)
        assert pong is not None and pong.data == {"text": "still here"}
    return answers


def test_bad_events_get_an_error_and_the_connection_stays_usable(text_server: Running) -> None:
    chunk = AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * 640)
    bad = [
        Event(type="frobnicate", data={"x": 1}),
        chunk.event(),
        Event(type="audio-stop"),
        AudioChunk(rate=16000, width=2, channels=1, audio=b"\0" * (20 * 1024 * 1024)).event(),
        AudioStart(rate=16000, width=2, channels=6).event(),
        Transcript(text="", language="en").event(),
        Transcript(text="coffee?", language="en", context={"conversation_id": 5}).event(),
        Event(type="run-pipeline", data={"start_stage": "moon"}),
    ]
    answers = asyncio.run(_errors_then_describe(text_server, bad))
    codes = [(a.type, a.data.get("code")) for a in answers]
    assert codes == [
        ("error", "unknown-event"),
        ("error", "audio-before-start"),
        ("error", "audio-before-start"),
        ("error", "payload-too-large"),
        ("error", "unsupported-audio-format"),
        ("error", "bad-transcript"),
        ("error", "bad-event"),
        ("error", "bad-event"),
    ]
    assert "'frobnicate'" in answers[0].data["text"]
    assert "20971520" in answers[3].data["text"] and "1048576" in answers[3].data["text"]
    assert "channels: expected one of (1, 2)" in answers[4].data["text"]


def test_a_wrong_rate_after_transcribe_is_an_error_then_a_clean_close(
    text_server: Running,
) -> None:
    events = [Transcribe(language="ko").event(), AudioStart(rate=4000, width=2, channels=1).event()]
    received = asyncio.run(exchange(text_server, events))  # reads until the server closes
    assert [(e.type, e.data["code"]) for e in received] == [("error", "unsupported-audio-format")]
    assert "rate: expected 8000..192000 Hz" in received[0].data["text"]


def test_audio_for_a_language_without_a_model_is_refused(text_server: Running) -> None:
    events = [
        Transcribe(language="ko").event(),
        AudioStart(rate=16000, width=2, channels=1).event(),
    ]
    [error] = asyncio.run(exchange(text_server, events))
    assert error.data["code"] == "no-model-for-locale"


async def _raw(running: Running, data: bytes, *, count: int = 0) -> list[dict[str, Any]]:
    """Write raw bytes; read ``count`` events, or (0) until the server closes."""
    reader, writer = await asyncio.open_connection(running.host, running.port)
    writer.write(data)
    await writer.drain()
    lines: list[dict[str, Any]] = []
    while (not count or len(lines) < count) and (
        line := await asyncio.wait_for(reader.readline(), 10)
    ):
        lines.append(json.loads(line))
        if lines[-1].get("data_length"):
            lines[-1]["data"] = json.loads(await reader.readexactly(lines[-1]["data_length"]))
    writer.close()
    await writer.wait_closed()
    return lines


def test_framing_errors_are_answered_then_closed(text_server: Running) -> None:
    for raw, code in (
        (b"this is not json\n", "bad-header"),
        (b'{"type": "describe", "payload_length": -4}\n', "bad-header"),
        (b'{"type": "x", "data": "' + b"a" * 70_000 + b'"}\n', "header-too-long"),
    ):
        lines = asyncio.run(_raw(text_server, raw))
        assert [(line["type"], line["data"]["code"]) for line in lines] == [("error", code)]


def test_an_oversized_data_block_is_skipped_and_the_stream_stays_in_step(
    text_server: Running,
) -> None:
    block = b"x" * (70 * 1024)
    raw = b'{"type": "describe", "data_length": %d}\n' % len(block) + block
    raw += b'{"type": "describe"}\n'
    lines = asyncio.run(_raw(text_server, raw, count=2))
    assert [line["type"] for line in lines[:2]] == ["error", "info"]
    assert lines[0]["data"]["code"] == "data-too-large"
