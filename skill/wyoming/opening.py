"""The hook for the opening seconds of a streamed utterance (issue 13, item 3).

Broadcast detection compares what several devices heard at the same moment. With Wyoming the
audio arrives while the person is still speaking, so its opening seconds can be handed to the
broadcast matcher before the utterance ends: by ``audio-stop`` the other devices' reports are
in and the turn need not wait for them. The matcher itself belongs to the broadcast layer; this
module cuts the opening off the stream and hands it over once, off the event loop;
:class:`NoteOpening` hands it to ``Pipeline.note_opening``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from askfirst.speech.audio import Audio
from askfirst.turn.pipeline import Pipeline

logger = logging.getLogger(__name__)

OPENING_SECONDS = 2.0


class OpeningListener(Protocol):
    """Receives the opening of every streamed utterance (e.g. to register its fingerprint)."""

    def opening(
        self, *, device_id: str, household: str, utterance_id: str, at: datetime, audio: Audio
    ) -> None:
        """``audio``: the first seconds (16-bit mono) of the utterance that started ``at``;
        ``utterance_id`` is the id its turn will be decided under."""


class NoteOpening:
    """Registers each opening's acoustic print with the pipeline's broadcast registry, so the
    wait for other devices' reports is counted from the utterance's first seconds."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    def opening(
        self, *, device_id: str, household: str, utterance_id: str, at: datetime, audio: Audio
    ) -> None:
        self._pipeline.note_opening(
            device_id=device_id, household=household, utterance_id=utterance_id, at=at, audio=audio
        )


class OpeningTap:
    """Collects at most ``seconds`` of an utterance's PCM and yields it once."""

    def __init__(self, *, rate: int, seconds: float = OPENING_SECONDS) -> None:
        self.rate = rate
        self._limit = 2 * int(rate * seconds)
        self._pcm = bytearray()
        self._done = False

    def add(self, pcm: bytes) -> Audio | None:
        """Add PCM; returns the opening when it just became complete."""
        if self._done:
            return None
        self._pcm += pcm[: self._limit - len(self._pcm)]
        if len(self._pcm) < self._limit:
            return None
        return self.flush()

    def flush(self) -> Audio | None:
        """The opening so far (the utterance ended early); None when given already or empty."""
        if self._done or not self._pcm:
            return None
        self._done = True
        audio = Audio(bytes(self._pcm), self.rate)
        self._pcm.clear()
        return audio
