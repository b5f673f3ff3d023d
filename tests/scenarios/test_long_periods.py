"""Long simulations: a start date, ``at`` beyond a week (seconds or spans), and checkpoints."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from askfirst.skill.cli.main import main
from askfirst.skill.simulator.scenario import ScenarioError, load_scenario, parse_start
from askfirst.store.base import Store, open_store
from askfirst.store.evidence import EvidenceFilter
from askfirst.store.keys import read_audit_key

QUARTER = """\
name: a quarter
start: 2026-01-05
user: anna
devices: {kitchen: {household: h1}}
events:
  - at: 0
    device: kitchen
    say: alexa, any deals on coffee
    trigger: wake_word
    expect: {offer: coffee-morning-roast}
  - at: 45d 9h
    device: kitchen
    say: alexa, any deals on coffee
    trigger: wake_word
    expect: {offer: coffee-morning-roast}
  - at: 89d 23h 59m 59s
    device: kitchen
    intent: DealQuestionIntent
    slots: {product: coffee}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quarter.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_spans_and_the_start_date_load(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, QUARTER))
    assert [e.at for e in loaded.scenario.events] == [0.0, 45 * 86400 + 9 * 3600, 90 * 86400 - 1]
    assert loaded.scenario.start_time == datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\nevents:\n  - {at: 3 weeks, say: hi}\n", "span like '3d 9h 15m 5s'"),
        ("name: x\nevents:\n  - {at: 401d, say: hi}\n", "less than or equal to 34560000"),
        ("name: x\nstart: 2026-01-05T09:00:00\nevents:\n  - {at: 0, say: hi}\n", "UTC offset"),
    ],
)
def test_bad_spans_and_starts_say_what_was_expected(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert fragment in str(caught.value)


def test_parse_start() -> None:
    assert parse_start("2026-02-01") == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_start("2026-02-01T09:00:00+09:00") == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(ScenarioError, match="UTC offset"):
        parse_start("2026-02-01T09:00:00")
    with pytest.raises(ScenarioError, match="expected a date"):
        parse_start("yesterday")


def test_a_quarter_runs_on_the_virtual_clock_and_writes_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path, QUARTER)
    db = tmp_path / "quarter.db"
    checkpoint = tmp_path / "checkpoints"
    key = tmp_path / "audit.key"
    status = main(
        [
            "simulate",
            str(scenario),
            "--json",
            "--store",
            f"sqlite:///{db}",
            "--start",
            "2026-04-01",
            "--checkpoints",
            str(checkpoint),
            "--key-file",
            str(key),
            "--checkpoint-every",
            "2",
        ]
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0, lines
    assert [line["decision"]["permit"] for line in lines] == [True, True, True]
    store = open_store(f"sqlite:///{db}", audit_key=read_audit_key(key))
    try:
        # --start overrides the scenario's start: the last event is 89d 23:59:59 after April 1.
        # A spoken turn is recorded when its capture ends; an Alexa intent when it arrives.
        lines = _evidence(store)
        assert [(r["captured_at"][:19], r["recorded_at"][:19]) for r in lines] == [
            ("2026-04-01T00:00:00", "2026-04-01T00:00:01"),
            ("2026-05-16T09:00:00", "2026-05-16T09:00:01"),
            ("2026-06-29T23:59:59", "2026-06-29T23:59:59"),
        ]
        report = store.audit_verify(checkpoint)
        assert report.ok, report.problems
        last = sorted(checkpoint.iterdir())[-1]  # written at the end
        heads = json.loads(last.read_text("utf-8"))["body"]["heads"]
        assert sum(seq for seq, _ in heads.values()) == 3
    finally:
        store.close()


def test_start_and_checkpoint_refuse_a_remote_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "simulate",
            str(write(tmp_path, QUARTER)),
            "--url",
            "http://127.0.0.1:9",
            "--start",
            "2026-01-01",
        ]
    )
    assert status == 2
    assert "expected an in-process run, got --url" in capsys.readouterr().err


def _evidence(store: Store) -> list[dict[str, Any]]:
    out = io.StringIO()
    store.evidence_export(out, EvidenceFilter())
    return [json.loads(line) for line in out.getvalue().splitlines()]
