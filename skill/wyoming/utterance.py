"""One streamed utterance: converted chunk by chunk and fed to the recogniser as it arrives.

Decoding runs in worker threads (Vosk releases the GIL), never on the event loop. PCM is
handed to the recogniser every ``FEED_SECONDS``; nothing holds the whole utterance.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from wyoming.audio import AudioChunk

from askfirst.skill.wyoming.conversion import AudioFormat, Converter
from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.opening import OpeningListener, OpeningTap
from askfirst.speech.audio import Audio
from askfirst.speech.errors import SpeechError
from askfirst.speech.transcriber import Transcriber, Transcript, TranscriptStream

logger = logging.getLogger(__name__)

FEED_SECONDS = 0.2
"""PCM is passed to the recogniser in pieces of this length: one Vosk block (0.2 s), so each
thread hop decodes one block and none only buffers."""


class Utterance:
    """Audio of one ``audio-start`` ... ``audio-stop``; always :meth:`finish` or :meth:`close`."""

    def __init__(
        self,
        *,
        audio_format: AudioFormat,
        max_seconds: float,
        device_id: str,
        started_at: datetime,
        household: str = "",
        utterance_id: str = "",
        opening: OpeningListener | None = None,
    ) -> None:
        self.converter = Converter(audio_format)
        self.device_id = device_id
        self.household = household or device_id
        self.utterance_id = utterance_id
        """The id its turn is decided under; its opening is registered under it too."""
        self.started_at = started_at
        self._max_bytes = 2 * int(self.converter.rate * max_seconds)
        self._max_seconds = max_seconds
        self._feed_bytes = 2 * int(self.converter.rate * FEED_SECONDS)
        self._stream: TranscriptStream | None = None
        self._pending = bytearray()
        self._received = 0
        self._sent = ""
        self._opening = opening
        self._tap = None if opening is None else OpeningTap(rate=self.converter.rate)

    @property
    def seconds(self) -> float:
        """Seconds of audio received so far."""
        return self._received / (2 * self.converter.rate)

    async def open(self, transcriber: Transcriber) -> None:
        """Check out a recogniser (may wait for a free one, so off the loop)."""
        self._stream = await asyncio.to_thread(transcriber.stream, sample_rate=self.converter.rate)

    async def feed(self, chunk: AudioChunk) -> str | None:
        """Take one chunk; returns newly recognised words for a ``transcript-chunk``, if any."""
        pcm = self.converter.convert(chunk)
        self._received += len(pcm)
        if self._received > self._max_bytes:
            raise WyomingError(
                f"audio-chunk: expected at most {self._max_seconds:g} s of audio in one "
                f"utterance, got {self.seconds:.2f} s",
                code="utterance-too-long",
            )
        if self._tap is not None:
            await self._hand_over(self._tap.add(pcm))
        self._pending += pcm
        if len(self._pending) < self._feed_bytes:
            return None
        return self._news(await self._feed_pending())

    async def _feed_pending(self) -> str:
        stream = self._live()
        piece = bytes(self._pending)
        self._pending.clear()
        try:
            return await asyncio.to_thread(stream.feed, piece)
        except SpeechError as exc:
            raise WyomingError(f"audio-chunk: {exc.message}", code="bad-audio") from exc

    def _news(self, partial: str) -> str | None:
        """The words ``partial`` adds to what was already sent, while it only grows."""
        if not partial.startswith(self._sent) or len(partial) <= len(self._sent):
            return None
        added = partial[len(self._sent) :]
        if self._sent and not added.startswith(" "):
            return None  # the last word is still changing
        self._sent = partial
        return added

    async def finish(self) -> Transcript:
        """The utterance ended (``audio-stop``): its transcript."""
        stream = self._live()
        if self._pending:
            await self._feed_pending()
        if self._tap is not None:
            await self._hand_over(self._tap.flush())
        self._stream = None
        try:
            return await asyncio.to_thread(stream.finish)
        except SpeechError as exc:
            raise WyomingError(f"audio-stop: {exc.message}", code="bad-audio") from exc

    async def close(self) -> None:
        """Discard an unfinished utterance and give its recogniser back."""
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)

    async def _hand_over(self, opening: Audio | None) -> None:
        if opening is None or self._opening is None:
            return
        await asyncio.to_thread(
            self._opening.opening,
            device_id=self.device_id,
            household=self.household,
            utterance_id=self.utterance_id,
            at=self.started_at,
            audio=opening,
        )

    def _live(self) -> TranscriptStream:
        if self._stream is None:
            raise WyomingError("expected an open utterance, got none", code="no-utterance")
        return self._stream
