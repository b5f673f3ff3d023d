"""The transcription interface: transcripts with timed words, wake-word spotting, streaming.

Engines implement :class:`Transcriber`; callers depend on this module only, so tests and the
tagging logic need no engine installed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from askfirst.speech.audio import Audio

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word."""

    text: str
    start: float
    """Seconds from the start of the utterance."""
    end: float
    """Seconds from the start of the utterance."""
    conf: float
    """The engine's confidence, 0..1."""


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said in one utterance."""

    text: str
    """The words joined by single spaces; "" for silence."""
    words: tuple[Word, ...]
    alternatives: tuple[str, ...] = ()
    """N-best texts, best first, when the caller asked for alternatives."""


class TranscriptStream(ABC):
    """One utterance fed in chunks; always finish or close it (it is a context manager)."""

    @abstractmethod
    def feed(self, chunk: bytes) -> str:
        """Add 16-bit mono PCM at the stream's rate; returns the partial text so far."""

    @abstractmethod
    def finish(self) -> Transcript:
        """End the utterance (the device says the audio stopped) and return its transcript."""

    @abstractmethod
    def close(self) -> None:
        """Release the stream; discards the utterance if it was not finished. Idempotent."""

    def __enter__(self) -> TranscriptStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Transcriber(ABC):
    """Turns audio into transcripts. Implementations are thread-safe."""

    @abstractmethod
    def transcribe(self, audio: Audio, *, alternatives: int = 0) -> Transcript:
        """The whole clip as one utterance; ``alternatives`` > 0 also returns N-best texts."""

    @abstractmethod
    def spot(self, audio: Audio, *, phrases: Sequence[str], seconds: float = 2.0) -> Transcript:
        """Grammar-restricted recognition over the opening ``seconds``.

        The output contains only the given phrases and the engine's unknown-word token, so a
        caller can ask "does the utterance open with the wake word" against competing phrases.
        """

    @abstractmethod
    def stream(self, *, sample_rate: int) -> TranscriptStream:
        """A new streaming utterance at ``sample_rate``."""

    @property
    @abstractmethod
    def ready(self) -> bool:
        """True once the model is loaded and the transcriber can serve requests."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources. Idempotent."""

    def __enter__(self) -> Transcriber:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
