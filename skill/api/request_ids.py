"""A request id for every HTTP request: taken from ``X-Request-Id`` when sane, else made.

It is put in the logs' context (``askfirst.skill.logs``), echoed in the response header, and
one access line per request is logged with the route template (never the path or query,
which may carry ids) and the status.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

from askfirst.skill.logs import decision_id_var, request_id_var

logger = logging.getLogger("askfirst.http")

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def register(app: Flask) -> None:
    """Give every request of ``app`` an id and log one line when it is answered."""
    app.before_request(_begin)
    app.after_request(_end)


def _begin() -> None:
    given = request.headers.get(HEADER, "")
    request_id = given if _SANE.fullmatch(given) else uuid.uuid4().hex
    request_id_var.set(request_id)
    decision_id_var.set(None)
    g.askfirst_request_began = time.perf_counter()


def _end(response: Response) -> Response:
    request_id = request_id_var.get()
    if request_id is not None:
        response.headers[HEADER] = request_id
    began = g.get("askfirst_request_began")
    if began is not None:
        rule = request.url_rule
        logger.info(
            "%s %s -> %d in %.1f ms",
            request.method,
            "<unmatched>" if rule is None else rule.rule,
            response.status_code,
            (time.perf_counter() - began) * 1000,
        )
    return response
