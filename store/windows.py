"""Listening windows in SQL: one open window per device, replaced on open, taken once."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection

from askfirst.core.windows import ListeningWindow
from askfirst.store.errors import BadValueError
from askfirst.store.limits import MAX_KEY_BYTES, MAX_SHORT_BYTES, check_size
from askfirst.store.schema import db_time, from_db_time
from askfirst.store.statements import Sql, run

logger = logging.getLogger(__name__)

PUT_WINDOW = Sql.of(
    """
    INSERT INTO windows (device_id, id, opened_at, expires_at, reason)
    VALUES (:device_id, :id, :opened_at, :expires_at, :reason)
    ON CONFLICT (device_id) DO UPDATE SET
      id = excluded.id, opened_at = excluded.opened_at, expires_at = excluded.expires_at,
      reason = excluded.reason
    """
)
"""Opening a window replaces the device's open one, in one statement."""

TAKE_WINDOW = Sql.of(
    "DELETE FROM windows WHERE device_id = :device_id RETURNING id, opened_at, expires_at, reason"
)


def check_window(window: ListeningWindow) -> None:
    """Refuse a window whose ids or reason are longer than the store keeps."""
    check_size(window.device_id, "window.device_id", MAX_KEY_BYTES)
    check_size(window.id, "window.id")
    check_size(window.reason, "window.reason", MAX_SHORT_BYTES)


def put_window(conn: Connection, window: ListeningWindow) -> None:
    """Open ``window`` for its device inside the caller's transaction."""
    if not isinstance(window, ListeningWindow):
        raise BadValueError(f"expected a ListeningWindow, got {type(window).__name__}")
    check_window(window)
    params = {
        "device_id": window.device_id,
        "id": window.id,
        "opened_at": db_time(window.opened_at, field="opened_at"),
        "expires_at": db_time(window.expires_at, field="expires_at"),
        "reason": window.reason,
    }
    run(conn, PUT_WINDOW, params, what=f"opening listening window {window.id!r}")


def take_window(conn: Connection, *, device_id: str, now: datetime) -> ListeningWindow | None:
    """Remove and return the device's window (single use), even when it has expired."""
    db_time(now, field="now")
    rows = run(conn, TAKE_WINDOW, {"device_id": device_id}, what="taking a listening window")
    if not rows:
        return None
    window_id, opened_at, expires_at, reason = rows[0]
    return ListeningWindow(
        id=str(window_id),
        device_id=device_id,
        opened_at=from_db_time(opened_at),
        expires_at=from_db_time(expires_at),
        reason=str(reason),
    )
