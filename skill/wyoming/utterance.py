"""One streamed utterance: converted chunk by chunk and fed to the recogniser as it arrives.

Decoding runs on worker threads (``decoder.Decoder``; Vosk releases the GIL), never on the
event loop, and the connection never waits for it: PCM is queued for the recogniser every
``FEED_SECONDS`` and the next chunk is read at once. Nothing holds the whole utterance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from wyoming.audio import AudioChunk

from askfirst.skill.wyoming.conversion import AudioFormat, Converter
from askfirst.skill.wyoming.decoder import Decoder
from askfirst.skill.wyoming.errors import WyomingError
from askfirst.skill.wyoming.opening import OpeningListener, OpeningTap
from askfirst.speech.audio import Audio
from askfirst.speech.errors import SpeechError
from askfirst.speech.transcriber import Transcriber, Transcript

logger = logging.getLogger(__name__)

FEED_SECONDS = 0.2
"""PCM is queued for the recogniser in pieces of this length: one Vosk block (0.2 s), so each
piece is decoded when it is queued and none only buffers."""


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
        locale: str = "",
        on_words: Callable[[str], None] | None = None,
    ) -> None:
        self.converter = Converter(audio_format)
        self.locale = locale
        """The locale of the recogniser (for metrics)."""
        self._on_words = on_words
        """Called on the loop with newly recognised words (a ``transcript-chunk``)."""
        self.device_id = device_id
        self.household = household or device_id
        self.utterance_id = utterance_id
        """The id its turn is decided under; its opening is registered under it too."""
        self.started_at = started_at
        self._max_bytes = 2 * int(self.converter.rate * max_seconds)
        self._max_seconds = max_seconds
        self._feed_bytes = 2 * int(self.converter.rate * FEED_SECONDS)
        self._decoder: Decoder | None = None
        self._transcribing = 0.0
        self._pending = bytearray()
        self._received = 0
        self._sent = ""
        self._opening = opening
        self._tap = None if opening is None else OpeningTap(rate=self.converter.rate)
        self._handing_over: asyncio.Future[None] | None = None

    @property
    def seconds(self) -> float:
        """Seconds of audio received so far."""
        return self._received / (2 * self.converter.rate)

    async def open(self, transcriber: Transcriber) -> None:
        """Check out a recogniser (may wait for a free one, so off the loop)."""
        stream = await asyncio.to_thread(transcriber.stream, sample_rate=self.converter.rate)
        self._decoder = Decoder(stream, asyncio.get_running_loop(), on_partial=self._partial)

    @property
    def transcribing_seconds(self) -> float:
        """Time spent in the recogniser so far (for the real-time factor)."""
        return self._transcribing if self._decoder is None else self._decoder.busy_seconds

    async def feed(self, chunk: AudioChunk) -> None:
        """Take one chunk; it is decoded on a worker while the next one is read."""
        pcm = self.converter.convert(chunk)
        self._received += len(pcm)
        if self._received > self._max_bytes:
            raise WyomingError(
                f"audio-chunk: expected at most {self._max_seconds:g} s of audio in one "
                f"utterance, got {self.seconds:.2f} s",
                code="utterance-too-long",
            )
        if self._tap is not None:
            self._hand_over(self._tap.add(pcm))
        decoder = self._live()
        self._pending += pcm
        if len(self._pending) >= self._feed_bytes:
            piece = bytes(self._pending)
            self._pending.clear()
            try:
                decoder.put(piece)
            except SpeechError as exc:
                raise WyomingError(f"audio-chunk: {exc.message}", code="bad-audio") from exc

    def _partial(self, partial: str) -> None:
        """The recogniser's text so far changed (on the loop): pass on the new words."""
        news = None if self._decoder is None else self._news(partial)
        if news and self._on_words is not None:
            self._on_words(news)

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
        """The utterance ended (``audio-stop``): its transcript, once its opening is handed
        over too (the two run side by side)."""
        decoder = self._live()
        if self._tap is not None:
            self._hand_over(self._tap.flush())
        tail = bytes(self._pending)
        self._pending.clear()
        decoding = asyncio.ensure_future(decoder.finish(tail))
        try:
            handing_over = self._handing_over
            if handing_over is not None:
                both: list[asyncio.Future[Any]] = [decoding, handing_over]
                await asyncio.wait(both)
                handing_over.result()  # its error is the utterance's
            return await decoding
        except SpeechError as exc:
            raise WyomingError(f"audio-stop: {exc.message}", code="bad-audio") from exc
        finally:
            if not decoding.done():
                decoding.cancel()  # the recogniser still goes back: the worker ends it
            self._transcribing = decoder.busy_seconds
            self._decoder = None
            self._handing_over = None

    async def close(self) -> None:
        """Discard an unfinished utterance and give its recogniser back."""
        decoder, self._decoder = self._decoder, None
        handing_over, self._handing_over = self._handing_over, None
        if decoder is not None:
            await decoder.close()
        if handing_over is not None:
            await asyncio.wait([handing_over])
            if not handing_over.cancelled() and handing_over.exception() is not None:
                logger.warning(
                    "wyoming: handing over the opening of a dropped utterance failed: %s",
                    handing_over.exception(),
                )

    def _hand_over(self, opening: Audio | None) -> None:
        """Start handing ``opening`` over on a worker; the reading goes on meanwhile, and
        :meth:`finish` waits for it (so the turn that follows sees it registered)."""
        if opening is None or self._opening is None or self._handing_over is not None:
            return
        self._handing_over = asyncio.ensure_future(
            asyncio.to_thread(
                self._opening.opening,
                device_id=self.device_id,
                household=self.household,
                utterance_id=self.utterance_id,
                at=self.started_at,
                audio=opening,
            )
        )

    def _live(self) -> Decoder:
        if self._decoder is None:
            raise WyomingError("expected an open utterance, got none", code="no-utterance")
        return self._decoder
