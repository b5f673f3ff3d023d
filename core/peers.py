"""What another device heard: the value broadcast detection compares a capture against."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from askfirst.core.capture import CaptureContextError, require_aware, require_text


@dataclass(frozen=True)
class PeerCapture:
    """What another device heard: when, and the fingerprint of its transcript."""

    device_id: str
    at: datetime
    """When that device's utterance started (timezone-aware)."""
    fingerprint: str

    def __post_init__(self) -> None:
        require_text(self.device_id, field="device_id", error=CaptureContextError)
        require_aware(self.at, field="at")
        require_text(self.fingerprint, field="fingerprint", error=CaptureContextError)
