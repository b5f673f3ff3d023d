"""The decoder queue: the loop never waits for the recogniser, pieces are decoded in order,
the end comes after the audio, and a failure surfaces once with the recogniser given back."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from askfirst.skill.wyoming.decoder import Decoder
from askfirst.speech.errors import AudioError, SpeechError
from askfirst.speech.transcriber import Transcript, TranscriptStream


class SlowStream(TranscriptStream):
    """A fake recogniser that takes ``delay`` seconds per piece and records what it saw."""

    def __init__(self, delay: float = 0.0, fail_on: bytes | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.fed: list[bytes] = []
        self.threads: set[str] = set()
        self.finished = self.closed = False

    def feed(self, chunk: bytes) -> str:
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        if chunk == self.fail_on:
            raise AudioError("expected speech, got a bad piece", code="bad_piece")
        self.fed.append(chunk)
        return " ".join(piece.decode() for piece in self.fed)

    def finish(self) -> Transcript:
        self.finished = True
        return Transcript(text=" ".join(piece.decode() for piece in self.fed), words=())

    def close(self) -> None:
        self.closed = True


def test_put_returns_at_once_and_finish_comes_after_every_piece() -> None:
    stream = SlowStream(delay=0.05)
    partials: list[str] = []

    async def run() -> tuple[float, Transcript]:
        decoder = Decoder(stream, asyncio.get_running_loop(), on_partial=partials.append)
        began = time.perf_counter()
        for word in ("one", "two", "three", "four"):
            decoder.put(word.encode())
        queued = time.perf_counter() - began
        return queued, await decoder.finish(b"five")

    queued, transcript = asyncio.run(run())
    assert queued < 0.05  # four pieces of 50 ms each were queued without waiting for one
    assert transcript.text == "one two three four five"
    assert partials == ["one", "one two", "one two three", "one two three four", *partials[4:]]
    assert stream.finished and "MainThread" not in stream.threads


def test_a_failed_piece_surfaces_once_and_the_stream_is_closed() -> None:
    stream = SlowStream(fail_on=b"bad")

    async def run() -> None:
        decoder = Decoder(stream, asyncio.get_running_loop())
        decoder.put(b"good")
        decoder.put(b"bad")
        decoder.put(b"never")  # queued before the failure was known: dropped with it
        with pytest.raises(SpeechError, match="bad piece"):
            await decoder.finish()
        await decoder.close()  # the utterance already ended: nothing more to do

    asyncio.run(run())
    assert stream.fed == [b"good"] and stream.closed and not stream.finished


def test_close_drops_the_queue_and_gives_the_recogniser_back() -> None:
    stream = SlowStream(delay=0.05)

    async def run() -> None:
        decoder = Decoder(stream, asyncio.get_running_loop())
        for n in range(10):
            decoder.put(str(n).encode())
        await decoder.close()
        with pytest.raises(SpeechError, match="before the end of the utterance"):
            decoder.put(b"late")

    asyncio.run(run())
    assert stream.closed and not stream.finished and len(stream.fed) < 10
