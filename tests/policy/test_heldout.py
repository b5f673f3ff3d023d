"""The frozen held-out set (tests/heldout/) as a regression floor, well below the measured figures.

The figures themselves are reported by ``bench/heldout_eval.py`` and in the README; these floors
only catch a grammar change that breaks what already worked. Never tune against these lines.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "heldout_eval.py"
FLOORS = {"en-US": 0.85, "ko-KR": 0.80}


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("heldout_eval", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("locale", sorted(FLOORS))
def test_heldout_floor(locale: str) -> None:
    scores = _bench().evaluate(locale)
    assert scores.questions > 80 and scores.lines["ambient"] >= 10
    assert scores.recall >= FLOORS[locale], scores.recall
    assert scores.precision >= 0.95, scores.misses
    assert scores.ambient_offers == 0
    assert scores.command_offer_rate() <= 0.05
