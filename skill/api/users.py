"""Whom a device may speak for: the users of its own household, under namespaced keys.

A device-API ``user_id`` is a name inside the device's household, never a global key: the
kitchen's ``"anna"`` is ``household:flat-12:anna`` in the store, so no device can reach a user of
another home, an Alexa account (``amzn1.ask.account.…``) or another device's anonymous user
(``device:<id>``) by naming them. The same keys given in full are accepted when they belong to
the household; any other reserved key is a 403 naming what was expected.
"""

from __future__ import annotations

from collections.abc import Iterable

from askfirst.core.devices import Device
from askfirst.skill.errors import SkillError

HOUSEHOLD = "household:"
DEVICE = "device:"
RESERVED = (HOUSEHOLD, DEVICE, "amzn1.")
"""Prefixes of keys that name users outside a household's own namespace."""


def household_key(household: str, user_id: str) -> str:
    """The store's key for ``user_id`` of ``household``."""
    return f"{HOUSEHOLD}{household}:{user_id}"


def anonymous_key(device_id: str) -> str:
    """The store's key for the unnamed user of a device (see ``Pipeline.user_key``)."""
    return f"{DEVICE}{device_id}"


def user_key(device: Device, user_id: str | None, *, devices: Iterable[Device]) -> str:
    """The key ``device`` may act for when it names ``user_id``; SkillError 403 otherwise."""
    if user_id is None:
        return anonymous_key(device.device_id)
    if not user_id.startswith(RESERVED):
        return household_key(device.household, user_id)
    own = household_key(device.household, "")
    if user_id.startswith(own) and len(user_id) > len(own):
        return user_id
    housemates = {d.device_id for d in devices if d.household == device.household}
    housemates.add(device.device_id)
    if user_id.startswith(DEVICE) and user_id.removeprefix(DEVICE) in housemates:
        return user_id
    raise SkillError(
        f"user_id: expected a user of household {device.household!r} (a plain id like 'anna', "
        f"{own + 'anna'!r}, or 'device:<id>' of a device in it), got {user_id!r}",
        code="forbidden_user",
        status=403,
    )
