"""A hand-written fake Transcriber: scripted transcripts keyed by the audio's bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from askfirst.speech.audio import Audio
from askfirst.speech.transcriber import Transcriber, Transcript, TranscriptStream, Word


def _transcript(text: str) -> Transcript:
    words = tuple(
        Word(text=w, start=0.5 * i, end=0.5 * i + 0.4, conf=1.0) for i, w in enumerate(text.split())
    )
    return Transcript(text=" ".join(text.split()), words=words)


class FakeStream(TranscriptStream):
    """Collects chunks; the final transcript is the script's entry for all of them joined."""

    def __init__(self, owner: FakeTranscriber, sample_rate: int) -> None:
        self._owner = owner
        self._sample_rate = sample_rate
        self._pcm = bytearray()
        self.closed = False

    def feed(self, chunk: bytes) -> str:
        self._pcm.extend(chunk)
        return ""

    def finish(self) -> Transcript:
        return self._owner.transcribe(Audio(pcm=bytes(self._pcm), sample_rate=self._sample_rate))

    def close(self) -> None:
        self.closed = True


class FakeTranscriber(Transcriber):
    """Returns the scripted text for known audio; unknown audio transcribes as silence."""

    def __init__(self, *, transcripts: Mapping[bytes, str], spots: Mapping[bytes, str]) -> None:
        self._transcripts = dict(transcripts)
        self._spots = dict(spots)
        self.spot_calls: list[tuple[tuple[str, ...], float]] = []
        self.closed = False

    def transcribe(self, audio: Audio, *, alternatives: int = 0) -> Transcript:
        return _transcript(self._transcripts.get(audio.pcm, ""))

    def spot(self, audio: Audio, *, phrases: Sequence[str], seconds: float = 2.0) -> Transcript:
        self.spot_calls.append((tuple(phrases), seconds))
        return _transcript(self._spots.get(audio.pcm, ""))

    def stream(self, *, sample_rate: int) -> TranscriptStream:
        return FakeStream(self, sample_rate)

    @property
    def ready(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True
