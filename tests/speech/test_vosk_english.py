"""English recognition with a real English model, when ASKFIRST_VOSK_MODEL points at one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from askfirst.speech.audio import read_wav
from askfirst.speech.models import MODEL_ENV

pytestmark = pytest.mark.vosk


@pytest.fixture(scope="module")
def english_model() -> Path:
    configured = os.environ.get(MODEL_ENV)
    if not configured:
        pytest.skip(f"{MODEL_ENV} is not set to an English Vosk model")
    path = Path(configured)
    words = path / "graph" / "words.txt"
    if "-en-" not in path.name and not (words.is_file() and "\nhello " in words.read_text("utf-8")):
        pytest.skip(f"{MODEL_ENV}={configured!r} does not look like an English model")
    return path


def test_english_question_is_recognised(english_model: Path, tmp_path: Path) -> None:
    from askfirst.speech.vosk_engine import VoskTranscriber

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed to synthesise the English clip")
    raw, wav = tmp_path / "raw.wav", tmp_path / "q.wav"
    text = "what running shoes do you recommend"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True
    )
    with VoskTranscriber(english_model, pool_size=1) as engine:
        transcript = engine.transcribe(read_wav(wav.read_bytes()))
    assert {"running", "shoes", "recommend"} & set(transcript.text.split()), transcript.text
