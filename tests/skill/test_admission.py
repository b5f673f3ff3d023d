"""Admission control: per device, for the recogniser pool, for unauthenticated body reads.

The real middleware in front of a WSGI app that holds each request until the test lets it go,
so "in flight" is exact (issue 12, items 5 and 6).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from askfirst.core.devices import Device
from askfirst.skill.api.admission import Admission, Limits

TOKENS = {"tok-a": Device.alone("kitchen"), "tok-b": Device.alone("hall")}


class Held:
    """A WSGI app that answers 200 with the body it read, once released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read()
        self.entered.release()
        self.release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]


def call(
    app: Admission, *, token: str | None, multipart: bool = False
) -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/utterances",
        "CONTENT_TYPE": "multipart/form-data; boundary=x" if multipart else "application/json",
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
    }
    if token is not None:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.fixture
def held() -> Iterator[Held]:
    app = Held()
    yield app
    app.release.set()


def occupy(app: Admission, held: Held, n: int, **kwargs: Any) -> list[threading.Thread]:
    threads = [threading.Thread(target=call, args=(app,), kwargs=kwargs) for _ in range(n)]
    for thread in threads:
        thread.start()
    for _ in threads:
        assert held.entered.acquire(timeout=5)
    return threads


def test_one_device_cannot_take_every_thread(held: Held) -> None:
    app = Admission(held, limits=Limits(device_concurrency=2), devices=TOKENS)
    threads = occupy(app, held, 2, token="tok-a")
    status, headers, body = call(app, token="tok-a")
    assert status.startswith("429")
    assert headers["Retry-After"] == "1"
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_requests"
    assert "at most 2 requests in flight from device 'kitchen'" in error["message"]
    # Another device is not affected.
    other = threading.Thread(target=call, args=(app,), kwargs={"token": "tok-b"})
    other.start()
    assert held.entered.acquire(timeout=5)
    held.release.set()
    for thread in [*threads, other]:
        thread.join(5)
    assert app.in_flight.count("device:kitchen") == 0


def test_audio_turns_are_capped_for_the_recogniser_pool(held: Held) -> None:
    app = Admission(held, limits=Limits(audio_concurrency=1), devices=TOKENS)
    threads = occupy(app, held, 1, token="tok-a", multipart=True)
    status, headers, body = call(app, token="tok-b", multipart=True)
    assert status.startswith("429") and "Retry-After" in headers
    assert json.loads(body)["error"]["code"] == "recognisers_busy"
    # A text turn still gets in while the audio slot is taken.
    text = threading.Thread(target=call, args=(app,), kwargs={"token": "tok-b"})
    text.start()
    assert held.entered.acquire(timeout=5)
    held.release.set()
    for thread in [*threads, text]:
        thread.join(5)


def test_unauthenticated_reads_are_bounded(held: Held) -> None:
    app = Admission(held, limits=Limits(max_body_reads=1), devices=TOKENS)
    threads = occupy(app, held, 1, token=None)
    status, headers, body = call(app, token="not-a-token")
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert json.loads(body)["error"]["code"] == "server_busy"
    held.release.set()
    for thread in threads:
        thread.join(5)


def test_the_body_reaches_the_app_and_gets_do_not_pass_the_gates(held: Held) -> None:
    held.release.set()
    app = Admission(held, limits=Limits(device_concurrency=1), devices=TOKENS)
    assert call(app, token="tok-a")[2] == b"{}"
    assert app.in_flight.count("device:kitchen") == 0
