"""gunicorn's own refusals (bad Content-Length, 414, 431, ...) in the API's JSON error shape.

gunicorn answers requests it cannot parse before any application code runs, with a small HTML
page. :class:`JsonErrorWorker` is gunicorn's threaded worker whose error page is instead
``{"error": {"code", "message"}}``, so a client sees one error shape whoever refused it.
It also closes a connection the admission gates refused before reading its body, instead of
draining that body (or parsing it as the next request).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


def error_bytes(status: int, reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 response carrying a JSON error; the connection is closed after it."""
    code = reason.lower().replace(" ", "_") or "bad_request"
    text = message or reason
    body = json.dumps(
        {"error": {"code": code, "message": f"expected a well-formed HTTP request, got: {text}"}},
        ensure_ascii=True,
    ).encode("ascii")
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head + body


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error`` that writes JSON instead of HTML."""
    util.write_nonblock(sock, error_bytes(status_int, reason, mesg[:300]))


_CLOSING: set[int] = set()
_CLOSING_LOCK = threading.Lock()


def close_after_response(sock: socket.socket) -> None:
    """Ask the worker to close this connection once the current answer is written."""
    with _CLOSING_LOCK:
        _CLOSING.add(id(sock))


def _must_close(sock: object) -> bool:
    with _CLOSING_LOCK:
        if id(sock) in _CLOSING:
            _CLOSING.discard(id(sock))
            return True
        return False


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    """The gthread worker, answering protocol errors with JSON, and closing a connection whose
    request was refused before its body was read (:func:`close_after_response`)."""

    def handle_request(self, req: Any, conn: Any) -> bool:
        keep_alive: bool = super().handle_request(req, conn)
        if not _must_close(conn.sock):
            return keep_alive
        # Shut both directions now: gunicorn's graceful close would otherwise linger (on the
        # worker's main loop) reading a body its sender may trickle for ever.
        with contextlib.suppress(OSError):  # the peer may be gone already
            conn.sock.shutdown(socket.SHUT_RDWR)
        return False

    def init_process(self) -> None:
        # gunicorn's Worker.handle_error writes through ``util.write_error``; in this worker
        # process every error page is ours.
        util.write_error = write_json_error
        super().init_process()
