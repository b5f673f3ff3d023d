"""gunicorn's own refusals (bad Content-Length, 414, 431, ...) in the API's JSON error shape.

gunicorn answers requests it cannot parse before any application code runs, with a small HTML
page. :class:`JsonErrorWorker` is gunicorn's threaded worker whose error page is instead
``{"error": {"code", "message"}}``, so a client sees one error shape whoever refused it.
"""

from __future__ import annotations

import json
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


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]
    """The gthread worker, answering protocol errors with JSON."""

    def init_process(self) -> None:
        # gunicorn's Worker.handle_error writes through ``util.write_error``; in this worker
        # process every error page is ours.
        util.write_error = write_json_error
        super().init_process()
