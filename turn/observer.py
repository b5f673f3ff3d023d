"""What a pipeline tells whoever watches it: a turn was decided, audio was transcribed.

The turn layer only reports facts; the edges (``askfirst.skill.metrics``, the logs) decide
what to count or print. An observer that raises never fails the turn: the error is logged.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from askfirst.turn.values import TurnResult


class TurnObserver(ABC):
    """Told about every decided turn and every transcription, in the thread that did it."""

    @abstractmethod
    def turn_decided(self, result: TurnResult) -> None:
        """A turn was decided and its decision recorded."""

    @abstractmethod
    def transcribed(self, *, locale: str, audio_seconds: float, seconds: float) -> None:
        """``audio_seconds`` of audio in ``locale`` took ``seconds`` to transcribe."""
