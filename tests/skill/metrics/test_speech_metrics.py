"""Recogniser metrics from a real Vosk transcription (Korean model) through the device API."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill.conftest import auth

pytestmark = pytest.mark.vosk

WAV = Path(__file__).parents[2] / "data" / "ko" / "wake_coffee.wav"


def test_a_transcription_is_timed_and_the_pool_is_shown(
    settings: Settings, korean_transcribers: TranscriberSet, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'audio.db'}")
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=store,
        transcribers=korean_transcribers,
        config=settings.turn_config(),
    )
    try:
        client = create_app(settings, pipeline=pipeline).test_client()
        start = datetime.now(UTC)
        capture = {
            "trigger": "wake_word",
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=2)).isoformat(),
        }
        answer = client.post(
            "/v1/utterances",
            data={
                "audio": (io.BytesIO(WAV.read_bytes()), WAV.name),
                "capture": json.dumps(capture),
                "locale": "ko-KR",
            },
            headers=auth(),
            content_type="multipart/form-data",
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        text = client.get("/metrics").get_data(as_text=True)
    finally:
        store.close()  # the transcribers are shared by the session
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    locale = (("locale", "ko-KR"),)
    assert samples[("askfirst_recogniser_real_time_factor_count", locale)] == 1
    # Time over audio length: positive and finite (its size depends on the machine's load, and
    # the shared recogniser may be cold on the session's first use).
    assert 0 < samples[("askfirst_recogniser_real_time_factor_sum", locale)] < float("inf")
    assert samples[("askfirst_recogniser_pool_checked_out", locale)] == 0
    assert samples[("askfirst_recogniser_pool_idle", locale)] >= 1
    assert samples[("askfirst_turns_total", (("tag", "prompted"),))] == 1
