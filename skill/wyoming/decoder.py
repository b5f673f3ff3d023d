"""Decoding one streamed utterance on a worker thread while its audio is still arriving.

The connection puts PCM in and goes straight back to reading the socket: it never waits for
the recogniser. A worker from the event loop's executor takes the queued pieces in arrival
order, feeds them to the recogniser (Vosk releases the GIL, so streams decode on every core)
and hands each new partial text back to the loop; it leaves when the queue is empty and a new
one starts when audio comes again, so an idle utterance holds no thread. ``audio-stop``
queues the end of the utterance behind the audio: by then all but the last fraction of a
second is decoded, and the worker that is still running goes straight on to the final result,
with no hop back to the loop in between.

Only the audio not yet decoded is queued (a fraction of a second while the machine keeps up),
never the utterance; the utterance's own limit (``max_audio_seconds``) bounds it regardless.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from askfirst.speech.errors import SpeechError
from askfirst.speech.transcriber import Transcript, TranscriptStream

logger = logging.getLogger(__name__)


class _End(Enum):
    """What ends the utterance: its transcript is wanted, or it is dropped."""

    FINISH = "finish"
    CLOSE = "close"


class Decoder:
    """Feeds one :class:`TranscriptStream` from a queue on executor threads, one at a time."""

    def __init__(
        self,
        stream: TranscriptStream,
        loop: asyncio.AbstractEventLoop,
        *,
        on_partial: Callable[[str], None] | None = None,
    ) -> None:
        self._stream = stream
        self._loop = loop
        self._on_partial = on_partial
        """Called on the loop with the recogniser's text so far, each time it changes."""
        self._lock = threading.Lock()
        self._queue: deque[bytes] = deque()
        self._running = False
        self._end: tuple[_End, asyncio.Future[Transcript | None]] | None = None
        self._error: Exception | None = None
        self.partial = ""
        """The recogniser's text so far (written by the worker)."""
        self.busy_seconds = 0.0
        """Time the workers spent in the recogniser: the utterance's transcription time."""
        self.queued_bytes = 0
        """PCM put in and not decoded yet."""

    def put(self, pcm: bytes) -> None:
        """Queue PCM for the recogniser; raises the error a previous piece met, if any."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._end is not None:
                raise SpeechError(
                    "expected audio before the end of the utterance, got more after it",
                    code="stream_closed",
                )
            self._queue.append(pcm)
            self.queued_bytes += len(pcm)
            start = not self._running
            self._running = True
        if start:
            self._loop.run_in_executor(None, self._work)

    async def finish(self, tail: bytes = b"") -> Transcript:
        """Queue ``tail`` and the end of the utterance; its transcript once all is decoded."""
        with self._lock:
            if tail and self._error is None and self._end is None:
                self._queue.append(tail)
                self.queued_bytes += len(tail)
        result = await self._request(_End.FINISH)
        assert result is not None
        return result

    async def close(self) -> None:
        """Drop the utterance (audio still queued is not decoded) and give the recogniser
        back; nothing to do once the utterance has ended."""
        with self._lock:
            if self._end is not None:
                return
            self._queue.clear()
            self.queued_bytes = 0
        await self._request(_End.CLOSE)

    async def _request(self, end: _End) -> Transcript | None:
        future: asyncio.Future[Transcript | None] = self._loop.create_future()
        with self._lock:
            if self._end is not None:
                raise SpeechError(
                    "expected one end of the utterance, got a second", code="stream_closed"
                )
            self._end = (end, future)
            start = not self._running
            self._running = True
        if start:
            self._loop.run_in_executor(None, self._work)
        return await future

    # -- on the worker thread --------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._lock:
                piece = self._queue.popleft() if self._queue and self._error is None else None
                end = self._end if piece is None else None
                if piece is None and end is None:
                    self._running = False
                    return
            if piece is not None:
                self._feed(piece)
                continue
            assert end is not None
            self._end_utterance(*end)
            return

    def _feed(self, piece: bytes) -> None:
        began = time.perf_counter()
        try:
            partial = self._stream.feed(piece)
        except Exception as exc:  # noqa: BLE001 - raised in the connection, by put or finish
            with self._lock:
                self._error = exc
                self._queue.clear()
                self.queued_bytes = 0
            return
        finally:
            self.busy_seconds += time.perf_counter() - began
        with self._lock:
            self.queued_bytes -= len(piece)
        if partial != self.partial:
            self.partial = partial
            if self._on_partial is not None:
                try:
                    self._loop.call_soon_threadsafe(self._on_partial, partial)
                except RuntimeError:  # the loop closed: nobody is listening
                    logger.debug("wyoming: a partial result after the event loop closed")

    def _end_utterance(self, end: _End, future: asyncio.Future[Transcript | None]) -> None:
        began = time.perf_counter()
        result: Transcript | None = None
        error = self._error
        try:
            if end is _End.FINISH and error is None:
                result = self._stream.finish()
            else:
                self._stream.close()
        except Exception as exc:  # noqa: BLE001 - raised in the connection awaiting the end
            error = error or exc
            try:
                self._stream.close()
            except Exception:  # already failing; the recogniser is dropped by the pool
                logger.exception("wyoming: closing a failed stream failed too")
        finally:
            self.busy_seconds += time.perf_counter() - began
        if end is _End.CLOSE:
            error = None
        try:
            self._loop.call_soon_threadsafe(_settle, future, result, error)
        except RuntimeError:  # the loop closed while we decoded: nobody is waiting
            logger.debug("wyoming: an utterance ended after its event loop closed")


def _settle(
    future: asyncio.Future[Transcript | None],
    result: Transcript | None,
    error: Exception | None,
) -> None:
    if future.done():  # the waiting connection was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
