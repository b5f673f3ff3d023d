"""Broadcast detection: the same words heard by several devices at once came from a speaker.

A TV or radio saying the wake word reaches every device in the room within a moment, so an
utterance that another device heard too is ambient on all of them. Devices are compared by a
keyed fingerprint of the normalised transcript; the transcript itself is never kept.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from collections.abc import Sequence
from datetime import datetime

from askfirst.core.capture import CaptureContextError, require_aware, require_text
from askfirst.core.peers import PeerCapture
from askfirst.core.text import normalise

logger = logging.getLogger(__name__)

DEFAULT_BROADCAST_SECONDS = 1.5
MIN_KEY_BYTES = 16

normalise_transcript = normalise
"""The shared normaliser (``askfirst.core.text``), language-neutral: what fingerprints compare."""


def fingerprint(text: str, *, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised transcript under a per-deployment secret ``key``."""
    if not isinstance(text, str):
        raise CaptureContextError(f"text: expected a string, got {type(text).__name__!r}")
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        shown = f"{len(key)} bytes" if isinstance(key, bytes) else type(key).__name__
        raise CaptureContextError(
            f"key: expected at least {MIN_KEY_BYTES} bytes of secret, got {shown!r}"
        )
    message = normalise_transcript(text).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def is_broadcast(
    *,
    device_id: str,
    at: datetime,
    fingerprint: str,
    peers: Sequence[PeerCapture],
    window_seconds: float = DEFAULT_BROADCAST_SECONDS,
) -> bool:
    """True when a different device heard the same fingerprint within ``window_seconds``.

    The window is symmetric (the peer may have heard it before or after) and inclusive.
    Captures from ``device_id`` itself never count.
    """
    moment = require_aware(at, field="at")
    require_text(fingerprint, field="fingerprint", error=CaptureContextError)
    if (
        isinstance(window_seconds, bool)
        or not isinstance(window_seconds, int | float)
        or not math.isfinite(window_seconds)
        or window_seconds < 0
    ):
        raise CaptureContextError(
            f"window_seconds: expected a finite number >= 0, got {window_seconds!r}"
        )
    for peer in peers:
        if not isinstance(peer, PeerCapture):
            raise CaptureContextError(f"peers: expected PeerCapture items, got {peer!r}")
        if peer.device_id == device_id:
            continue
        if abs((peer.at - moment).total_seconds()) > window_seconds:
            continue
        if hmac.compare_digest(peer.fingerprint.encode(), fingerprint.encode()):
            logger.debug("broadcast: %r heard the same words as %r", device_id, peer.device_id)
            return True
    return False
