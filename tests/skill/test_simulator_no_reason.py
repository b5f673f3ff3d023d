"""The simulator's timeline says why a prompted text held no question (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pytest

from askfirst.skill.cli.main import main

SCENARIO = """
name: every no says why
events:
  - {at: 0, device: kitchen, user: anna, trigger: wake_word,
     say: "Alexa, add coffee to my shopping list", expect: {offer: false, question: false}}
  - {at: 5, device: kitchen, user: anna, trigger: wake_word,
     say: "Alexa, I don't want any coffee deals", expect: {offer: false, question: false}}
  - {at: 10, device: kitchen, user: anna, trigger: wake_word,
     say: "Alexa, any deals on lawn mowers?", expect: {offer: false, question: false}}
"""


def test_the_timeline_names_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "no.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    assert main(["simulate", "--store", f"sqlite:///{tmp_path / 'a.db'}", str(scenario)]) == 0
    out = capsys.readouterr().out
    assert "question  none — task_command 'shopping_list'" in out
    assert "question  none — negated 'not'" in out
    assert "question  none — no_product 'lawn mowers'" in out
