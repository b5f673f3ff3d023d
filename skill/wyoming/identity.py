"""Who is speaking, and what made them speak, from what Wyoming peers actually send.

Home Assistant's speech-to-text client sends only ``transcribe {language}`` and 16 kHz audio;
its conversation client sends ``transcript {text, language, context: {conversation_id,
device_id?, satellite_id?}}``. Direct Wyoming peers (satellite-style clients, the test
bridge) may send ``detection`` and ``run-pipeline`` before their audio. Everything else comes
from the settings: one configured device per listening URI, so no turn is ever anonymous.
README "Use with Home Assistant" has the whole mapping as a table.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from askfirst.core.capture import Trigger
from askfirst.core.devices import Device
from askfirst.skill.settings import WyomingDevice, WyomingListener
from askfirst.skill.wyoming.errors import WyomingError

logger = logging.getLogger(__name__)

CONTEXT_KEY = "askfirst"
"""``context.askfirst.device_token``: a direct peer's device-API bearer token."""


@dataclass(frozen=True, slots=True)
class Identity:
    """The device (with its household) a turn belongs to, and which signal said so."""

    device: Device
    source: str
    """``device_token``, ``device_id``, ``satellite_id`` or ``listener``."""

    @property
    def device_id(self) -> str:
        return self.device.device_id


def listener_device(listener: WyomingListener) -> Device:
    """The device a listening URI stands for."""
    return Device(
        device_id=listener.device_id,
        household=listener.household or listener.device_id,
        room=listener.room,
    )


@dataclass(frozen=True, slots=True)
class Signals:
    """What a connection said about the next utterance before its audio or text."""

    wake_word: str | None = None
    """The ``detection`` name ("" when it had none); None when no detection came."""
    start_stage: str | None = None
    """The ``run-pipeline`` start stage, when one came."""

    @property
    def empty(self) -> bool:
        return self.wake_word is None and self.start_stage is None


@dataclass(frozen=True, slots=True)
class TriggerFacts:
    """The capture trigger of a turn and whether the wake word was verified by the peer."""

    trigger: Trigger
    wake_word_verified: bool | None
    """True when the peer's wake-word engine fired and cut the wake word from the audio, so
    the transcript is read as the words after it; None lets the transcript's opening decide."""
    source: str


def trigger_of(signals: Signals, listener: WyomingListener) -> TriggerFacts:
    """``detection`` -> wake word; ``run-pipeline`` from speech-to-text -> push-to-talk;
    ``run-pipeline`` from wake -> wake word; nothing -> the listener's configured trigger."""
    if signals.wake_word is not None:
        return TriggerFacts(Trigger.WAKE_WORD, True, "detection")
    if signals.start_stage == "asr":
        return TriggerFacts(Trigger.PUSH_TO_TALK, None, "run-pipeline:asr")
    if signals.start_stage == "wake":
        return TriggerFacts(Trigger.WAKE_WORD, True, "run-pipeline:wake")
    verified = True if listener.wake_word_removed else None
    return TriggerFacts(
        listener.trigger, verified if listener.trigger is Trigger.WAKE_WORD else None, "listener"
    )


def _text(context: Mapping[str, Any], key: str) -> str | None:
    value = context.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise WyomingError(
            f"context.{key}: expected a non-empty string of at most 256 characters, got "
            f"{value if not isinstance(value, str) else value[:40]!r}",
            code="bad-context",
        )
    return value


def _token_device(context: Mapping[str, Any], tokens: Mapping[str, Device]) -> Device | None:
    ours = context.get(CONTEXT_KEY)
    if ours is None:
        return None
    if not isinstance(ours, dict):
        raise WyomingError(
            f"context.{CONTEXT_KEY}: expected an object {{'device_token'}}, got {ours!r}",
            code="bad-context",
        )
    token = _text(ours, "device_token")
    if token is None:
        return None
    offered = token.encode("utf-8", "surrogateescape")
    found: Device | None = None
    for known, device in tokens.items():  # every token compared, in constant time each
        if hmac.compare_digest(known.encode("utf-8"), offered):
            found = device
    if found is None:
        raise WyomingError(
            f"context.{CONTEXT_KEY}.device_token: expected a token issued to a device, got one "
            "that is not configured",
            code="unknown-token",
        )
    return found


def identify(
    context: Mapping[str, Any] | None,
    *,
    listener: WyomingListener,
    devices: Mapping[str, WyomingDevice],
    tokens: Mapping[str, Device],
) -> Identity:
    """A device-API token, else Home Assistant's ``device_id`` or ``satellite_id`` (mapped in
    settings when configured), else the listener's configured device."""
    context = context or {}
    if not isinstance(context, Mapping):
        raise WyomingError(f"context: expected an object, got {context!r}", code="bad-context")
    device = _token_device(context, tokens)
    if device is not None:
        return Identity(device, "device_token")
    home = listener_device(listener).household
    given = {key: _text(context, key) for key in ("device_id", "satellite_id")}
    for key, value in given.items():
        known = None if value is None else devices.get(value)
        if known is not None:
            device = Device(
                device_id=known.device_id, household=known.household or home, room=known.room
            )
            return Identity(device, key)
    for key, value in given.items():
        if value is not None:  # unmapped, but stable: Home Assistant's id of the satellite
            return Identity(Device(device_id=f"ha:{value}", household=home), key)
    return Identity(listener_device(listener), "listener")
