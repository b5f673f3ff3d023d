"""The one place exceptions become HTTP JSON errors or spoken apologies.

Every error body is ``{"error": {"code", "message"}}``. Known errors keep their own status and
message; a genuine bug is logged with its traceback and answered with a bare JSON 500.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from askfirst.core.errors import CoreError
from askfirst.policy.errors import PolicyError
from askfirst.skill import replies
from askfirst.store.errors import FieldTooLarge, StoreError, StoreUnavailable
from askfirst.turn.errors import TurnError

logger = logging.getLogger(__name__)

ErrorBody = dict[str, dict[str, str]]


def error_body(code: str, message: str) -> ErrorBody:
    return {"error": {"code": code, "message": message}}


def _http_exception(exc: HTTPException) -> tuple[int, ErrorBody]:
    status = exc.code or 500
    method, path = request.method, request.path
    if isinstance(exc, NotFound):
        return status, error_body("not_found", f"expected a known route, got {method} {path!r}")
    if isinstance(exc, MethodNotAllowed):
        allowed = sorted(set(exc.valid_methods or ()) - {"OPTIONS", "HEAD"})
        return status, error_body(
            "method_not_allowed", f"{path}: expected method {' or '.join(allowed)}, got {method}"
        )
    if isinstance(exc, RequestEntityTooLarge):
        limit = request.max_content_length
        return status, error_body(
            "body_too_large",
            f"expected a body of at most {limit} bytes, got {request.content_length} bytes",
        )
    code = (exc.name or "http_error").lower().replace(" ", "_")
    return status, error_body(code, exc.description or exc.name)


def http_error(exc: BaseException) -> tuple[int, ErrorBody]:
    """The status and JSON body for ``exc``; logs it (with a traceback only for bugs)."""
    if isinstance(exc, TurnError):
        logger.info("%s %s -> %d %s: %s", _method(), _path(), exc.status, exc.code, exc.message)
        return exc.status, exc.to_json()
    if isinstance(exc, CoreError):
        logger.info("%s %s -> 422 %s: %s", _method(), _path(), exc.code, exc.message)
        return 422, error_body(exc.code, exc.message)
    if isinstance(exc, FieldTooLarge):  # the edges check the same limits first: a gap, logged
        logger.warning("%s %s -> 422 %s (refused by the store)", _method(), _path(), exc.code)
        return 422, error_body(exc.code, exc.message)
    if isinstance(exc, StoreUnavailable):
        logger.error("store unavailable, failing closed: %s", exc.message)
        return 503, error_body(exc.code, "the decision store is unavailable; retry later")
    if isinstance(exc, HTTPException):
        status, body = _http_exception(exc)
        logger.info("%s %s -> %d %s", _method(), _path(), status, body["error"]["code"])
        return status, body
    if isinstance(exc, StoreError | PolicyError):
        logger.error("%s %s failed: %s", _method(), _path(), exc, exc_info=exc)
        return 500, error_body("internal_error", "the server could not complete the request")
    logger.error("unhandled error on %s %s", _method(), _path(), exc_info=exc)
    return 500, error_body("internal_error", "the server could not complete the request")


def _method() -> str:
    return request.method if request else "-"


def _path() -> str:
    return request.path if request else "-"


def spoken_error(exc: BaseException) -> replies.Reply:
    """What Alexa says when a handler failed: an apology, never an offer. Logs the cause."""
    if isinstance(exc, StoreUnavailable):
        logger.error("store unavailable during an Alexa request, failing closed: %s", exc.message)
        return replies.store_unavailable()
    if isinstance(exc, TurnError | CoreError | StoreError | PolicyError):
        logger.error("Alexa handler failed: %s: %s", type(exc).__name__, exc)
    else:
        logger.error("Alexa handler failed with a bug", exc_info=exc)
    return replies.apology()


def json_response(status: int, body: Any) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def register(app: Flask) -> None:
    """Route every exception raised in a view through :func:`http_error`."""

    def handle(exc: Exception) -> Response:
        status, body = http_error(exc)
        response = json_response(status, body)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        if isinstance(exc, TurnError) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response

    app.register_error_handler(Exception, handle)
