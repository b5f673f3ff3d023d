"""Wyoming turns and transcriptions reach the Prometheus counters and the logs' decision id,
as device-API turns do: a real stream through the Korean model, a real conversation turn, a
real HTTP scrape of the exporter ``askfirst wyoming --metrics-port`` starts."""

from __future__ import annotations

import asyncio
import logging
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families
from wyoming.asr import Transcript

from askfirst.skill.logs import ContextIds
from askfirst.skill.metrics.exporter import Exporter, start_exporter
from askfirst.skill.metrics.observer import watch
from askfirst.skill.metrics.registry import Metrics
from askfirst.skill.settings import Settings
from askfirst.turn.transcribers import TranscriberSet
from tests.skill.wyoming.conftest import (
    DATA,
    Running,
    exchange,
    make_service,
    of_type,
    run_service,
    utterance_events,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> tuple[str, Samples]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


@pytest.fixture
def watched(
    settings: Settings, ko_transcribers: TranscriberSet
) -> Iterator[tuple[Running, Exporter]]:
    """The Korean service watched as ``askfirst wyoming --metrics-port 0`` watches it."""
    service = make_service(settings, ko_transcribers)
    metrics = Metrics()
    observer = watch(service.pipeline, metrics)
    service.metrics = metrics
    exporter = start_exporter(
        metrics,
        observer,
        host="127.0.0.1",
        port=0,
        locales=lambda: service.pipeline.transcribers.locales,
    )
    running = run_service(service)
    yield running, exporter
    exporter.close()
    running.stop()
    service.pipeline.store.close()  # the transcribers are shared by the session


@pytest.mark.vosk
def test_a_streamed_utterance_and_a_turn_are_counted_and_scraped(
    watched: tuple[Running, Exporter],
) -> None:
    running, exporter = watched
    heard = asyncio.run(
        exchange(running, utterance_events(DATA / "wake_coffee.wav"), until=["transcript"])
    )
    [transcript] = of_type(heard, "transcript")
    words = str(transcript.data["text"]).split()
    assert words
    turn = Transcript(text="Any deals on coffee?", language="en", context={"conversation_id": "m"})
    [answer] = asyncio.run(exchange(running, [turn.event()], until=["handled", "not-handled"]))
    assert answer.type == "handled", answer
    text, samples = scrape(exporter.port)
    ko = (("locale", "ko-KR"),)
    assert samples[("askfirst_recogniser_real_time_factor_count", ko)] == 1
    assert ("askfirst_recogniser_pool_idle", ko) in samples
    assert samples[("askfirst_wyoming_seconds_count", (("step", "transcript"),))] == 1
    assert samples[("askfirst_wyoming_seconds_count", (("step", "handle"),))] == 1
    assert samples[("askfirst_turns_total", (("tag", "prompted"),))] == 1
    assert sum(v for (name, _), v in samples.items() if name == "askfirst_decisions_total") == 1
    assert samples[("askfirst_store_seconds_count", (("operation", "turn"),))] >= 1
    assert not any(word in text for word in [*words, "deals"])  # counts, never what was said


def test_a_conversation_turn_logs_its_decision_id(
    text_server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    from askfirst.skill.logs import DecisionIds

    text_server.service.pipeline.observer = DecisionIds()
    caplog.handler.addFilter(ContextIds())
    caplog.set_level(logging.INFO, logger="askfirst.skill.wyoming")
    turn = Transcript(text="Any deals on coffee?", language="en", context={"conversation_id": "l"})
    [answer] = asyncio.run(exchange(text_server, [turn.event()], until=["handled", "not-handled"]))
    decision_id = answer.data["context"]["askfirst"]["decision_id"]
    [line] = [r for r in caplog.records if r.getMessage().startswith("wyoming: turn ")]
    assert getattr(line, "decision_id", None) == decision_id
    assert getattr(line, "request_id", None)
