"""Logging set-up: plain text or one JSON object per line, with the request and decision ids.

The ids come from context variables the web app sets per request (``request_id_var``) and the
pipeline's observer sets per decided turn (``decision_id_var``); every record logged in that
context carries them. Nothing here adds a transcript: records carry only what their message
says, and askfirst's own messages never include one.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from askfirst.turn.observer import TurnObserver
from askfirst.turn.values import TurnResult

LogFormat = Literal["text", "json"]

request_id_var: ContextVar[str | None] = ContextVar("askfirst_request_id", default=None)
"""The id of the HTTP request being served (``X-Request-Id``)."""
decision_id_var: ContextVar[str | None] = ContextVar("askfirst_decision_id", default=None)
"""The id of the decision the current request made, once it has made one."""

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class ContextIds(logging.Filter):
    """Adds ``request_id`` and ``decision_id`` (or None) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.decision_id = decision_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, ids, and any exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "decision_id": getattr(record, "decision_id", None),
            "process": record.process,
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, fmt: LogFormat = "text", *, stream: TextIO | None = None) -> None:
    """Send the root logger's records to ``stream`` (stderr) as text or JSON Lines.

    Like ``logging.basicConfig``, plain text leaves a root logger that something else already
    handles (a test runner, an embedding program) alone; JSON always installs its handler. A
    handler this function installed earlier is replaced, never stacked.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "askfirst", False)]:
        root.removeHandler(old)
    if fmt == "text" and root.handlers:
        return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.askfirst = True  # type: ignore[attr-defined]
    handler.addFilter(ContextIds())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def gunicorn_log_config(level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict`` that makes its own records JSON Lines too."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["ids"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "filters": {"ids": {"()": f"{__name__}.ContextIds"}},
        "handlers": {"json": handler},
        "root": {"level": level.upper(), "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False},
        },
    }


class DecisionIds(TurnObserver):
    """Puts each decided turn's id in the logs' context (when no metrics observer does)."""

    def turn_decided(self, result: TurnResult) -> None:
        decision_id_var.set(result.decided().id)

    def transcribed(self, *, locale: str, audio_seconds: float, seconds: float) -> None:
        """Nothing to note."""
