"""``--log-format json``: one JSON object per line, with request and decision ids, no transcript."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from askfirst.skill.api.app import create_app
from askfirst.skill.logs import configure_logging
from tests.skill.live import live_settings

QUESTION = "what running shoes do you recommend"
AMBIENT = "my sister's credit card number is on the fridge"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Root records as JSON Lines into a buffer; the handler is removed afterwards."""
    root = logging.getLogger()
    level = root.level
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in [h for h in root.handlers if getattr(h, "askfirst", False)]:
            root.removeHandler(handler)
        root.setLevel(level)


def _turn(text: str, n: int, trigger: str) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "text": text,
        "utterance_id": f"log-{n}",
        "capture": {"trigger": trigger, "start": now, "end": now},
    }


def test_request_lines_carry_the_request_and_decision_ids(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    app = create_app(live_settings(tmp_path))
    try:
        client = app.test_client()
        answer = client.post(
            "/v1/utterances",
            json=_turn(QUESTION, 1, "push_to_talk"),
            headers={"Authorization": "Bearer tok-kitchen", "X-Request-Id": "req-abc-123"},
        )
        ambient = client.post(
            "/v1/utterances",
            json=_turn(AMBIENT, 2, "none"),
            headers={"Authorization": "Bearer tok-kitchen"},
        )
    finally:
        app.extensions["askfirst.pipeline"].close()
    assert answer.status_code == 200 and ambient.status_code == 200
    assert answer.headers["X-Request-Id"] == "req-abc-123"
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    access = [line for line in lines if line["logger"] == "askfirst.http"]
    assert len(access) == 2
    first, second = access
    assert first["request_id"] == "req-abc-123"
    assert first["decision_id"] == answer.get_json()["decision"]["id"]
    assert first["message"].startswith("POST /v1/utterances -> 200")
    assert second["request_id"] == ambient.headers["X-Request-Id"] != "req-abc-123"
    assert second["decision_id"] == ambient.get_json()["decision"]["id"]
    text = json_log.getvalue()
    assert QUESTION not in text and AMBIENT not in text


def test_text_logging_leaves_a_handled_root_alone() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    configure_logging("INFO", "text")
    assert root.handlers == before


@pytest.mark.slow
def test_serve_writes_only_json_lines(tmp_path: Path) -> None:
    """gunicorn's own lines and askfirst's, from master and workers: every one is JSON."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "ASKFIRST_STORE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "ASKFIRST_DEVICE_TOKENS": '{"tok-kitchen": "kitchen"}',
        "ASKFIRST_BROADCAST_HOLD_SECONDS": "0",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "askfirst.skill.cli.main",
                "--log-format",
                "json",
                "--log-level",
                "INFO",
                "serve",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            answer = requests.post(
                f"{base}/v1/utterances",
                json=_turn(QUESTION, 1, "push_to_talk"),
                timeout=10,
                headers={"Authorization": "Bearer tok-kitchen"},
            )
            assert answer.status_code == 200, answer.text
        finally:
            server.terminate()
            server.wait(timeout=20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert any(line["logger"] == "gunicorn.error" for line in lines)
    turn = [line for line in lines if line["message"].startswith("POST /v1/utterances")]
    assert len(turn) == 1 and turn[0]["decision_id"] == answer.json()["decision"]["id"]
    assert QUESTION not in log.read_text()
