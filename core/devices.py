"""Devices and households: who a device is, and which home it listens in.

Broadcast detection needs to know whether two devices share a home: the same sound heard in two
homes came from a loudspeaker (a broadcast), the same sound heard by two speakers of one home is
one person heard twice (one of them answers).
"""

from __future__ import annotations

from dataclasses import dataclass

from askfirst.core.errors import CoreError


class DeviceError(CoreError):
    """A device identity that does not make sense."""

    code = "bad_device"


def _name(value: object, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DeviceError(f"{field}: expected a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Device:
    """One listening device: its id, its household and (optionally) its room."""

    device_id: str
    household: str
    """The home the device listens in; a device configured without one is a household of one
    whose id is the device id (see :meth:`alone`)."""
    room: str | None = None
    """Where in the home, for people reading the audit trail; no rule uses it."""

    def __post_init__(self) -> None:
        _name(self.device_id, field="device_id")
        _name(self.household, field="household")
        if self.room is not None:
            _name(self.room, field="room")

    @classmethod
    def alone(cls, device_id: str) -> Device:
        """A device in a household of its own (the old ``{"token": "device"}`` form)."""
        return cls(device_id=device_id, household=device_id)
