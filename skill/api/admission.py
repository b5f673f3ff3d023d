"""Admission control in front of the app: who may take a worker thread, and for how long.

A gunicorn worker has a handful of threads; before this, one token's 16 audio uploads or 40
connections trickling an ``/alexa`` body byte by byte held all of them, and a plain text turn
(or a health probe) waited behind. Every request with a body now passes three gates, each
answering at once (a JSON 429 or 503 with ``Retry-After``) instead of queueing:

* **per device**: an authenticated device has at most ``device_concurrency`` requests in flight;
* **recogniser pool**: at most ``audio_concurrency`` audio turns are in flight per process (the
  warm recognisers plus as many waiting), so audio never takes every thread;
* **unauthenticated reads**: a body whose sender is not yet known (``/alexa`` is authenticated
  by the signature over its body) is read by at most ``max_body_reads`` threads at a time.

The body is then read here, whole, within ``body_read_seconds`` (a per-``recv`` socket timeout
shrinking to the time left), so a slow sender costs one thread for that long at most (408).
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from askfirst.core.devices import Device
from askfirst.skill.api.protocol_errors import close_after_response
from askfirst.skill.api.routes import device_for
from askfirst.skill.errors import SkillError

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class Limits:
    """The gates' sizes (settings ``ASKFIRST_DEVICE_CONCURRENCY`` and friends)."""

    device_concurrency: int = 4
    audio_concurrency: int = 4
    max_body_reads: int = 4
    body_read_seconds: float = 10.0
    max_body_bytes: int = 2_000_000
    retry_after: int = 1


class Counter:
    """In-flight counts per key, each capped; ``take`` never blocks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def take(self, key: str, cap: int) -> bool:
        with self._lock:
            count = self._counts.get(key, 0)
            if count >= cap:
                return False
            self._counts[key] = count + 1
            return True

    def give(self, key: str) -> None:
        with self._lock:
            count = self._counts.get(key, 0) - 1
            if count <= 0:
                self._counts.pop(key, None)
            else:
                self._counts[key] = count

    def count(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)


class Admission:
    """WSGI middleware applying :class:`Limits` to every request that carries a body."""

    def __init__(self, app: WsgiApp, *, limits: Limits, devices: Mapping[str, Device]) -> None:
        self.app = app
        self.limits = limits
        self.devices = dict(devices)
        self.in_flight = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") not in ("POST", "PUT", "PATCH"):
            return self.app(environ, start_response)
        taken: list[str] = []
        try:
            self._admit(environ, taken)
            environ["wsgi.input"] = io.BytesIO(self._read_body(environ))
            return self.app(environ, start_response)
        except SkillError as refused:
            _stop_reading(environ)
            return _refusal(refused, start_response)
        finally:
            for key in taken:
                self.in_flight.give(key)

    def _admit(self, environ: dict[str, Any], taken: list[str]) -> None:
        limits = self.limits
        device = self._device(environ.get("HTTP_AUTHORIZATION"))
        if device is None:
            self._take("unauthenticated", limits.max_body_reads, taken, busy="unauthenticated")
        else:
            self._take(f"device:{device.device_id}", limits.device_concurrency, taken, busy=device)
        if str(environ.get("CONTENT_TYPE", "")).lower().startswith("multipart/"):
            self._take("audio", limits.audio_concurrency, taken, busy="audio")

    def _take(self, key: str, cap: int, taken: list[str], *, busy: Device | str) -> None:
        if self.in_flight.take(key, cap):
            taken.append(key)
            return
        if isinstance(busy, Device):
            message = (
                f"expected at most {cap} requests in flight from device {busy.device_id!r}, "
                "got another; retry after the time in Retry-After"
            )
            raise SkillError(
                message, code="too_many_requests", status=429, retry_after=self.limits.retry_after
            )
        if busy == "audio":
            message = (
                f"expected at most {cap} audio turns in flight (the recogniser pool is busy), "
                "got another; retry after the time in Retry-After"
            )
            raise SkillError(
                message, code="recognisers_busy", status=429, retry_after=self.limits.retry_after
            )
        message = (
            f"expected at most {cap} unauthenticated bodies being read at once, got another; "
            "retry after the time in Retry-After"
        )
        raise SkillError(
            message, code="server_busy", status=503, retry_after=self.limits.retry_after
        )

    def _device(self, authorization: object) -> Device | None:
        if not isinstance(authorization, str):
            return None
        try:
            return device_for(authorization, self.devices)
        except SkillError:
            return None  # the route refuses it with the full explanation

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        """The whole body within ``body_read_seconds``; 413 past the size limit, 408 if slow."""
        limits = self.limits
        try:
            declared = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            declared = -1
        if declared > limits.max_body_bytes:
            raise SkillError(
                f"expected a body of at most {limits.max_body_bytes} bytes, got {declared} bytes",
                code="body_too_large",
                status=413,
                retry_after=None,
            )
        wanted = limits.max_body_bytes + 1 if declared < 0 else declared
        stream = environ["wsgi.input"]
        sock = environ.get("gunicorn.socket")
        deadline = time.monotonic() + limits.body_read_seconds
        chunks: list[bytes] = []
        size = 0
        try:
            while size < wanted:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                if sock is not None:
                    sock.settimeout(left)
                chunk = stream.read(min(_CHUNK, wanted - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (TimeoutError, OSError):
            raise SkillError(
                f"expected the {declared if declared >= 0 else 'request'}-byte body within "
                f"{limits.body_read_seconds:g} s, got {size} bytes",
                code="body_too_slow",
                status=408,
                retry_after=None,
            ) from None
        finally:
            if sock is not None:
                sock.settimeout(None)
        if size > limits.max_body_bytes:
            raise SkillError(
                f"expected a body of at most {limits.max_body_bytes} bytes, got more",
                code="body_too_large",
                status=413,
                retry_after=None,
            )
        environ["CONTENT_LENGTH"] = str(size)
        return b"".join(chunks)


def _stop_reading(environ: dict[str, Any]) -> None:
    """Close the connection after the answer: the body was not (wholly) read, and gunicorn
    would otherwise drain it (or parse it as the next request) on a kept-alive connection, the
    slow sender pinning the thread after all. See ``protocol_errors.JsonErrorWorker``."""
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        close_after_response(sock)


def _refusal(refused: SkillError, start_response: Callable[..., Any]) -> list[bytes]:
    body = json.dumps({"error": {"code": refused.code, "message": refused.message}}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if refused.retry_after is not None:
        headers.append(("Retry-After", str(math.ceil(refused.retry_after))))
    headers.append(("Connection", "close"))
    logger.info("refused before the app: %d %s", refused.status, refused.code)
    start_response(f"{refused.status} {_REASONS[refused.status]}", headers)
    return [body]


_REASONS = {
    408: "Request Timeout",
    413: "Content Too Large",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
