"""A real gunicorn (``askfirst serve``, a subprocess): its own refusals and slow peers.

No speech model is loaded: these are about the HTTP edge, driven over raw loopback sockets.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

TOKEN = "tok-proto-77a1"
ASKFIRST = Path(sys.executable).parent / "askfirst"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    folder = tmp_path_factory.mktemp("proto")
    port = free_port()
    environ = {
        **os.environ,
        "ASKFIRST_STORE_URL": f"sqlite:///{folder / 'askfirst.db'}",
        "ASKFIRST_DEVICE_TOKENS": json.dumps({TOKEN: "kitchen"}),
        "ASKFIRST_ALEXA_SKILL_IDS": json.dumps(["amzn1.ask.skill.test"]),
        "ASKFIRST_BODY_READ_SECONDS": "1",
        "ASKFIRST_MAX_BODY_READS": "2",
    }
    command = [str(ASKFIRST), "serve", "--port", str(port), "--workers", "1", "--threads", "4"]
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or the worker is still booting (slow on a loaded machine)
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError((folder / "server.log").read_text(errors="replace")[-2000:])
        time.sleep(0.1)
    try:
        yield "127.0.0.1", port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def raw_exchange(address: tuple[str, int], request: bytes, *, timeout: float = 5) -> bytes:
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_json(reply: bytes) -> tuple[int, dict[str, dict[str, str]]]:
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), reply[:300]
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /v1/utterances HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 200 + b"\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    ],
)
def test_gunicorn_protocol_errors_are_json(
    server: tuple[str, int], request_bytes: bytes, status: int
) -> None:
    got, body = status_and_json(raw_exchange(server, request_bytes))
    assert got == status
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["message"].startswith("expected a well-formed HTTP request")


def test_slow_bodies_cannot_pin_the_threads(server: tuple[str, int]) -> None:
    head = (
        b"POST /alexa HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    slow = [socket.create_connection(server, timeout=10) for _ in range(12)]
    try:
        for sock in slow:
            sock.sendall(head)
        time.sleep(0.3)
        for _ in range(5):
            began = time.monotonic()
            response = requests.get(f"http://{server[0]}:{server[1]}/healthz", timeout=2)
            assert response.status_code == 200
            assert time.monotonic() - began < 1.0
        statuses = set()
        for sock in slow:
            sock.settimeout(5)
            reply = b""
            try:
                while chunk := sock.recv(65536):
                    reply += chunk
                    if b"\r\n\r\n" in reply and reply.rstrip().endswith(b"}"):
                        break
            except (TimeoutError, ConnectionResetError):
                pass
            status, body = status_and_json(reply)
            statuses.add(status)
            assert "Retry-After" in reply.decode() or status == 408
            assert body["error"]["code"] in {"body_too_slow", "server_busy"}
        assert statuses == {408, 503}
    finally:
        for sock in slow:
            sock.close()
