"""No error message and no log line ever echoes what a user said (issue 12, item 15)."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.skill.conftest import auth

SECRET = "zanzibarpistachio"
"""A word that must never appear in a log line or an error message."""


def now() -> str:
    return datetime.now(UTC).isoformat()


def ptt() -> dict[str, str]:
    return {"trigger": "push_to_talk", "start": now(), "end": now()}


REJECTED: list[dict[str, Any]] = [
    {"text": f"buy {SECRET}\x00", "capture": ptt()},
    {"text": f"buy {SECRET} \ud800", "capture": ptt()},
    {"text": [f"buy {SECRET}"], "capture": ptt()},
    {"text": {SECRET: 1}, "capture": ptt()},
    {"text": f"buy {SECRET} " * 400, "capture": ptt()},
    {"text": f"buy {SECRET}", "capture": {**ptt(), "trigger": "clap"}},
    {"text": f"buy {SECRET}", "capture": ptt(), "locale": "xx-XX"},
    {"text": f"buy {SECRET}", "capture": ptt(), "user_id": "device:elsewhere"},
    {"text": f"buy {SECRET}", "capture": ptt(), "nonsense": 1},
    {"text": f"buy {SECRET}", "capture": {**ptt(), "start": "1900-01-01T00:00:00+00:00"}},
]


@pytest.mark.parametrize("body", REJECTED)
def test_a_rejected_utterance_is_neither_echoed_nor_logged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post("/v1/utterances", json=body, headers=auth())
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in caplog.text


def test_a_multipart_text_part_is_neither_echoed_nor_logged(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/v1/utterances",
        data={
            "capture": json.dumps(ptt()),
            "text": f"buy {SECRET}",
            "sample_rate": "16000",
            "audio": (io.BytesIO(b"\0\0" * 1600), "a.pcm"),
        },
        headers=auth(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert SECRET not in response.get_data(as_text=True)
    assert SECRET not in caplog.text


def test_an_answered_turn_logs_no_words(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/v1/utterances",
        json={"text": f"I love {SECRET} ice cream", "capture": {**ptt(), "trigger": "none"}},
        headers=auth(),
    )
    assert response.status_code == 200
    assert SECRET not in caplog.text
