"""Multipart WAV uploads through the device API, transcribed by real Vosk on the Korean model."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill.conftest import auth

pytestmark = pytest.mark.vosk

DATA = Path(__file__).parents[1] / "data" / "ko"


@pytest.fixture
def korean_client(
    settings: Settings, korean_transcribers: TranscriberSet, tmp_path: Path
) -> Iterator[FlaskClient]:
    store = open_store(f"sqlite:///{tmp_path / 'audio.db'}")
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=store,
        transcribers=korean_transcribers,
        config=settings.turn_config(),
    )
    yield create_app(settings, pipeline=pipeline).test_client()
    store.close()  # the transcribers are shared by the session


def upload(client: FlaskClient, name: str, trigger: str, **fields: str) -> Any:
    start = datetime.now(UTC)
    capture = {
        "trigger": trigger,
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=2)).isoformat(),
    }
    data = {
        "audio": (io.BytesIO((DATA / name).read_bytes()), name),
        "capture": json.dumps(capture),
        "locale": "ko-KR",
        **fields,
    }
    return client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )


def test_push_to_talk_upload_is_transcribed_tagged_and_decided(korean_client: FlaskClient) -> None:
    response = upload(korean_client, "plain_coffee.wav", "push_to_talk", user_id="minji")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    # espeak-ng Korean is hard to recognise: check properties of a real decode, not exact text.
    assert any("\uac00" <= ch <= "\ud7a3" for ch in body["transcript"]), body["transcript"]
    assert body["transcript"] == " ".join(w["text"] for w in body["words"])
    assert all(0 <= w["start"] <= w["end"] <= 5 for w in body["words"])
    assert (body["tag"], body["tag_reasons"]) == ("prompted", ["push_to_talk"])
    assert body["decision"]["id"]
    assert body["offer"] is None or body["decision"]["permit"] is True


def test_overheard_korean_speech_is_ambient_and_never_an_offer(korean_client: FlaskClient) -> None:
    response = upload(korean_client, "wake_headphones.wav", "none", limit_ad_tracking="false")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["transcript"]
    assert body["tag"] == "ambient"
    assert body["decision"]["permit"] is False
    assert body["offer"] is None


def test_silence_is_ambient(korean_client: FlaskClient) -> None:
    body = upload(korean_client, "silence.wav", "push_to_talk").get_json()
    assert body["transcript"] == ""
    assert body["tag"] == "ambient"
    assert body["offer"] is None


def _raw_upload(client: FlaskClient, pcm: bytes, **fields: str) -> Any:
    start = datetime.now(UTC)
    capture = {
        "trigger": "push_to_talk",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=2)).isoformat(),
    }
    data = {
        "audio": (io.BytesIO(pcm), "clip.pcm"),
        "capture": json.dumps(capture),
        "locale": "ko-KR",
        **fields,
    }
    return client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )


def test_raw_pcm_with_a_declared_rate_transcribes_like_the_same_wav(
    korean_client: FlaskClient,
) -> None:
    from askfirst.speech.audio import read_wav

    wav = read_wav((DATA / "plain_coffee.wav").read_bytes())
    as_wav = upload(korean_client, "plain_coffee.wav", "push_to_talk")
    as_raw = _raw_upload(korean_client, wav.pcm, sample_rate=str(wav.sample_rate))
    assert as_raw.status_code == 200, as_raw.get_data(as_text=True)
    assert as_raw.get_json()["transcript"] == as_wav.get_json()["transcript"]
    assert as_raw.get_json()["transcript"]


@pytest.mark.parametrize(
    ("pcm", "rate", "code", "says"),
    [
        (b"\x00\x01\x02", "16000", "odd_byte_count", "even number of bytes"),
        (b"\x00\x00" * 100, "sixteen", "invalid_field", "sample_rate: expected an integer"),
        (b"\x00\x00" * 100, "4000", "unsupported_sample_rate", "4000"),
        (b"", "16000", "empty_audio", "got 0 bytes"),
    ],
)
def test_bad_raw_pcm_is_a_clear_422(
    korean_client: FlaskClient, pcm: bytes, rate: str, code: str, says: str
) -> None:
    response = _raw_upload(korean_client, pcm, sample_rate=rate)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert says in error["message"]
    assert error["code"] == code
