"""The per-process transcriber set: background loading, readiness, errors, and closing."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from askfirst.speech.audio import Audio
from askfirst.speech.transcriber import Transcriber, Transcript, TranscriptStream
from askfirst.turn.errors import TurnError
from askfirst.turn.transcribers import TranscriberSet


class Recorded(Transcriber):
    """A transcriber that only remembers whether it was closed."""

    def __init__(self) -> None:
        self.closed = False

    def transcribe(self, audio: Audio, *, alternatives: int = 0) -> Transcript:
        return Transcript(text="", words=())

    def spot(self, audio: Audio, *, phrases: Sequence[str], seconds: float = 2.0) -> Transcript:
        return Transcript(text="", words=())

    def stream(self, *, sample_rate: int) -> TranscriptStream:
        raise NotImplementedError

    @property
    def ready(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def test_models_load_in_the_background_and_are_then_ready(tmp_path: Path) -> None:
    release = threading.Event()
    made: list[Recorded] = []

    def loader(path: Path) -> Transcriber:
        release.wait(10)
        made.append(Recorded())
        return made[-1]

    models = TranscriberSet.loading({"ko-KR": tmp_path}, loader=loader)
    assert not models.ready
    with pytest.raises(TurnError) as loading:
        models.for_locale("ko-KR")
    assert (loading.value.status, loading.value.code) == (503, "model_loading")
    release.set()
    assert models.wait(10)
    assert models.for_locale("ko-KR") is made[0]
    with pytest.raises(TurnError) as unknown:
        models.for_locale("de-DE")
    assert (unknown.value.status, unknown.value.code) == (422, "no_model_for_locale")
    models.close()
    assert made[0].closed


def test_a_model_that_fails_to_load_is_reported_not_lost(tmp_path: Path) -> None:
    def loader(path: Path) -> Transcriber:
        raise RuntimeError(f"no model at {path}")

    models = TranscriberSet.loading({"en-US": tmp_path}, loader=loader)
    assert not models.wait(10)
    with pytest.raises(TurnError, match="failed to load: RuntimeError: no model at") as failed:
        models.for_locale("en-US")
    assert (failed.value.status, failed.value.code) == (503, "model_unavailable")


def test_a_model_that_finishes_loading_after_close_is_closed(tmp_path: Path) -> None:
    release = threading.Event()
    made: list[Recorded] = []

    def loader(path: Path) -> Transcriber:
        release.wait(10)
        made.append(Recorded())
        return made[-1]

    models = TranscriberSet.loading({"ko-KR": tmp_path}, loader=loader)
    models.close()
    release.set()
    models.wait(10)
    assert made and made[0].closed
