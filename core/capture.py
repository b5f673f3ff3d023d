"""Capture context: the device event that started an utterance, and when it was heard.

The capture context is the only thing that can make an utterance prompted; the transcript
can only take that away (see ``speech.tagging``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from askfirst.core.errors import CoreError

logger = logging.getLogger(__name__)


class CaptureContextError(CoreError):
    """A capture context, window or peer capture that does not make sense."""

    code = "bad_capture_context"


class Trigger(StrEnum):
    """What made the device start capturing."""

    WAKE_WORD = "wake_word"
    """The device's own wake-word detector fired."""
    PUSH_TO_TALK = "push_to_talk"
    """A physical button was pressed."""
    FOLLOW_UP = "follow_up"
    """The device kept listening after the assistant asked something."""
    NONE = "none"
    """No event at all: continuous capture by a satellite that streams everything."""


def require_aware(
    value: object, *, field: str, error: type[CoreError] = CaptureContextError
) -> datetime:
    """Return ``value`` if it is a timezone-aware datetime, else raise ``error``."""
    if not isinstance(value, datetime):
        raise error(f"{field}: expected a timezone-aware datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise error(f"{field}: expected a timezone-aware datetime, got naive {value.isoformat()!r}")
    return value


def require_text(value: object, *, field: str, error: type[CoreError]) -> str:
    """Return ``value`` if it is a non-blank string, else raise ``error``."""
    if not isinstance(value, str) or not value.strip():
        raise error(f"{field}: expected a non-empty string, got {value!r}")
    return value


class Clock(StrEnum):
    """Whose clock a capture's times come from."""

    DEVICE = "device"
    """The device reported when it heard the utterance."""
    SERVER = "server"
    """The device left the times out (push-to-talk or text): the server's arrival time."""


@dataclass(frozen=True, slots=True)
class CaptureContext:
    """How and when one utterance was captured, as reported by the device or simulator."""

    trigger: Trigger
    device_id: str
    start: datetime
    """When the utterance audio began (timezone-aware)."""
    end: datetime
    """When the device says the audio stopped; never before ``start``."""
    household: str = ""
    """The home the device listens in; empty means a household of one (the device id)."""
    level: float | None = None
    """How loud the capture was as the device measured it (e.g. dBFS; higher is stronger).
    Within one household, the device with the strongest level answers when all sent one."""
    clock: Clock = Clock.DEVICE
    """Whose clock ``start`` and ``end`` are; the record keeps it."""

    def __post_init__(self) -> None:
        trigger: object = self.trigger
        if not isinstance(trigger, Trigger):
            try:
                object.__setattr__(self, "trigger", Trigger(str(trigger)))
            except ValueError:
                expected = ", ".join(repr(t.value) for t in Trigger)
                raise CaptureContextError(
                    f"trigger: expected one of {expected}, got {trigger!r}"
                ) from None
        require_text(self.device_id, field="device_id", error=CaptureContextError)
        if self.household == "":
            object.__setattr__(self, "household", self.device_id)
        require_text(self.household, field="household", error=CaptureContextError)
        level: object = self.level
        if level is not None and (
            isinstance(level, bool)
            or not isinstance(level, int | float)
            or not math.isfinite(level)
        ):
            raise CaptureContextError(f"level: expected a finite number or None, got {level!r}")
        start = require_aware(self.start, field="start")
        end = require_aware(self.end, field="end")
        if end < start:
            raise CaptureContextError(
                f"end: expected a time at or after start {start.isoformat()!r}, "
                f"got {end.isoformat()!r}"
            )

    @property
    def duration(self) -> float:
        """Seconds between start and end."""
        return (self.end - self.start).total_seconds()
