"""The knobs of one turn: windows, broadcast detection, limits. Built by the edges from settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class TurnConfig:
    """What the pipeline needs to know of the service's settings, and nothing else."""

    broadcast_key: bytes
    """HMAC key for broadcast fingerprints; the same on every instance."""
    broadcast_window_seconds: float = 1.5
    """Capture times this close count as one sound."""
    broadcast_hold_seconds: float = 0.5
    """How long a wake-word turn waits for peers' reports, from its first registration."""
    listening_window_seconds: float = 8.0
    max_capture_skew_seconds: float = 300.0
    """Device capture times further from the server's clock are refused."""
    max_audio_seconds: float = 30.0
