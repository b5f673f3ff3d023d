"""What another device heard: the value broadcast detection compares a capture against."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from askfirst.core.capture import CaptureContextError, require_aware, require_text


@dataclass(frozen=True)
class PeerCapture:
    """One device's capture as broadcast detection keeps it: when, where, and keyed prints.

    Never the words: ``text_print`` and ``audio_print`` are keyed hashes (see
    ``speech.shingles`` and ``speech.acoustic``), kept for seconds.
    """

    device_id: str
    at: datetime
    """When that device's capture started (timezone-aware)."""
    household: str = ""
    """The device's household; empty means a household of one (the device id)."""
    utterance_id: str = ""
    """The capture's utterance id, so a device can tell which of its peers answered."""
    text_print: bytes = b""
    """Keyed word shingles of the transcript (``speech.shingles.TextFingerprint.to_bytes``)."""
    audio_print: bytes = b""
    """Keyed landmarks of the audio (``speech.acoustic.AcousticFingerprint.to_bytes``); empty
    for text-only captures."""
    level: float | None = None
    """The capture's level as the device reported it (higher is stronger)."""
    seq: int = 0
    """Report order, given by the store (lower reported first); 0 before it is stored."""
    answered: bool = False
    """This capture's turn was answered (decided by the policy) on its device."""
    noted_at: datetime | None = None
    """When the server first registered this capture (its clock), given by the store; the
    wait for other devices' reports is counted from it. None before it is stored."""

    def __post_init__(self) -> None:
        require_text(self.device_id, field="device_id", error=CaptureContextError)
        require_aware(self.at, field="at")
        if self.household == "":
            object.__setattr__(self, "household", self.device_id)
        require_text(self.household, field="household", error=CaptureContextError)
        if not self.text_print and not self.audio_print:
            raise CaptureContextError(
                "text_print/audio_print: expected at least one fingerprint, got neither"
            )
        if self.noted_at is not None:
            require_aware(self.noted_at, field="noted_at")
        if self.level is not None and not math.isfinite(self.level):
            raise CaptureContextError(f"level: expected a finite number, got {self.level!r}")
