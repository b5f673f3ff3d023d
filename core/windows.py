"""Listening windows: the short time after a prompt in which a follow-up counts as prompted.

A window is opened by a wake-word detection, a push-to-talk press or the assistant asking
the user something. The checks here are pure. **Single use is enforced by the store**, which
keeps at most one open window per device and hands it out once (taking it closes it); this
module only answers whether a given window admits an utterance on a device at a time.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from askfirst.core.capture import require_aware, require_text
from askfirst.core.errors import CoreError

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_SECONDS = 8.0
"""How long a window stays open after the prompt ended, unless configured otherwise."""

NO_OPEN_WINDOW = "no_open_window"
WINDOW_EXPIRED = "window_expired"
WINDOW_OTHER_DEVICE = "window_other_device"
WINDOW_NOT_YET_OPEN = "window_not_yet_open"


class WindowError(CoreError):
    """A listening window that cannot exist (naive times, expiry before opening...)."""

    code = "bad_listening_window"


@dataclass(frozen=True, slots=True)
class ListeningWindow:
    """A single-use permission for one device to hear a follow-up until ``expires_at``."""

    id: str
    device_id: str
    opened_at: datetime
    """When the prompt ended and the window opened (timezone-aware)."""
    expires_at: datetime
    """First instant at which the window is closed; an utterance starting then is too late."""
    reason: str
    """Why it was opened: "assistant_asked", "wake_word", "push_to_talk"."""

    def __post_init__(self) -> None:
        require_text(self.id, field="id", error=WindowError)
        require_text(self.device_id, field="device_id", error=WindowError)
        require_text(self.reason, field="reason", error=WindowError)
        opened = require_aware(self.opened_at, field="opened_at", error=WindowError)
        expires = require_aware(self.expires_at, field="expires_at", error=WindowError)
        if expires <= opened:
            raise WindowError(
                f"expires_at: expected a time after opened_at {opened.isoformat()!r}, "
                f"got {expires.isoformat()!r}"
            )


def open_window(
    *,
    window_id: str,
    device_id: str,
    prompt_ended_at: datetime,
    seconds: float = DEFAULT_WINDOW_SECONDS,
    reason: str = "assistant_asked",
) -> ListeningWindow:
    """A window for ``device_id`` open from ``prompt_ended_at`` for ``seconds``."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise WindowError(f"seconds: expected a finite number above 0, got {seconds!r}")
    opened = require_aware(prompt_ended_at, field="prompt_ended_at", error=WindowError)
    return ListeningWindow(
        id=window_id,
        device_id=device_id,
        opened_at=opened,
        expires_at=opened + timedelta(seconds=seconds),
        reason=reason,
    )


def window_admits(window: ListeningWindow | None, *, device_id: str, at: datetime) -> str | None:
    """None when ``window`` admits an utterance from ``device_id`` starting ``at``, else why not.

    The reason codes are "no_open_window", "window_other_device", "window_not_yet_open"
    (the utterance began before the prompt ended) and "window_expired" (``at`` is at or after
    ``expires_at``: the expiry instant itself is already too late).
    """
    moment = require_aware(at, field="at", error=WindowError)
    if window is None:
        return NO_OPEN_WINDOW
    if window.device_id != device_id:
        return WINDOW_OTHER_DEVICE
    if moment < window.opened_at:
        return WINDOW_NOT_YET_OPEN
    if moment >= window.expires_at:
        return WINDOW_EXPIRED
    return None
