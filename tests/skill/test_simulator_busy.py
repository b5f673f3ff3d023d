"""``simulate --url`` honours a busy server's 429 + Retry-After instead of failing the scenario."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask, Response, jsonify
from werkzeug.serving import BaseWSGIServer, make_server

from askfirst.skill.simulator.remote import OverHttp


@pytest.fixture
def busy_once() -> Iterator[tuple[str, list[int]]]:
    app = Flask("busy")
    seen: list[int] = []

    @app.post("/v1/declined")
    def declined() -> Response | tuple[Response, int, dict[str, str]]:
        seen.append(len(seen))
        if len(seen) == 1:
            error = {"error": {"code": "too_many_requests", "message": "busy"}}
            return jsonify(error), 429, {"Retry-After": "0"}
        return jsonify({"declined": "tea", "user": "household:x:anna"})

    server: BaseWSGIServer = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    thread.join(5)


def test_a_429_is_retried_after_the_time_the_server_asks(busy_once: tuple[str, list[int]]) -> None:
    url, seen = busy_once
    backend = OverHttp(url, {"kitchen": "tok"}, default_token=None)
    try:
        backend.declined(device_id="kitchen", user_id="anna", offer_id="tea", decision_id=None)
    finally:
        backend.close()
    assert len(seen) == 2
