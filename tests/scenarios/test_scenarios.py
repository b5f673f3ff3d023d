"""Every scenario file runs through the simulator; its expectations are the policy's tests."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from askfirst.skill.cli import simulate as cli_simulate
from askfirst.skill.cli.main import main
from askfirst.skill.settings import Settings
from askfirst.skill.simulator.inprocess import InProcess
from askfirst.skill.simulator.runner import Report, simulate
from askfirst.skill.simulator.scenario import load_scenario
from askfirst.turn.transcribers import TranscriberSet

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
EXAMPLES = REPO / "examples" / "scenarios"
SCENARIOS = sorted(HERE.glob("*.yaml"))
ALL = [*SCENARIOS, *sorted(EXAMPLES.glob("*.yaml")), *sorted(EXAMPLES.glob("*.jsonl"))]


def run(path: Path, settings: Settings, transcribers: TranscriberSet | None = None) -> Report:
    loaded = load_scenario(path)
    backend = InProcess.create(loaded, settings, transcribers=transcribers or TranscriberSet())
    try:
        return simulate(loaded, backend, broadcast_window_seconds=settings.broadcast_window_seconds)
    finally:
        backend.close()


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=[pytest.mark.vosk, pytest.mark.slow]) if "korean" in p.name else p
        for p in ALL
    ],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_scenario_expectations_hold(
    path: Path, settings: Settings, request: pytest.FixtureRequest
) -> None:
    loaded = load_scenario(path)
    transcribers = None
    if any(event.audio for event in loaded.scenario.events):
        transcribers = request.getfixturevalue("ko_transcribers")
    report = run(path, settings, transcribers)
    assert report.ok, "\n".join(report.failures)
    assert any(o.event.expect is not None for o in report.outcomes)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_turn_in_a_test_scenario_has_an_expect(path: Path) -> None:
    events = load_scenario(path).scenario.events
    missing = [
        i for i, e in enumerate(events) if e.kind in ("say", "audio", "intent") and not e.expect
    ]
    assert not missing, f"{path.name}: events {missing} have no expect"


def test_a_broken_expectation_fails_naming_the_event_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES / "asked.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("offer: shoes-trailblazer", "offer: false"), encoding="utf-8")
    assert main(["simulate", "--color", "never", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "1 expectation failed" in out
    assert (
        "event 1 (line 11, at 30s, hall): expected no offer, got offer 'shoes-trailblazer'" in out
    )


def test_wrong_tag_and_rule_are_reported_with_the_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "name: wrong\nevents:\n  - at: 0\n    say: I need coffee\n"
        "    expect: {tag: prompted, rule: permit, offer: true}\n",
        encoding="utf-8",
    )
    assert main(["simulate", "--json", str(path)]) == 1
    captured = capsys.readouterr()
    record = json.loads(captured.out)
    assert record["ok"] is False
    assert "expected tag 'prompted', got 'ambient' (reasons: no_trigger)" in record["failures"][0]
    assert any(
        "expected deciding rule 'permit', got 'R1.prompted'" in f for f in record["failures"]
    )
    assert any("expected an offer, got no offer" in f for f in record["failures"])
    assert "expectation failed: event 0 (line 3" in captured.err


def test_exit_0_when_every_expectation_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--color", "never", str(EXAMPLES / "showcase.yaml")]) == 0
    out = capsys.readouterr().out
    assert "all 9 expectations held" in out
    assert "disclosure: Sponsored by Trailblazer." in out
    assert "\033[" not in out


@pytest.mark.parametrize(
    ("text", "name", "fragments"),
    [
        ("name: x\nevents:\n  - at: 0\n    sya: hi\n", "bad.yaml", ["line 4", "event 0", "sya"]),
        ('{"at": 0, "say": 3}\n', "bad.jsonl", ["line 1 (event 0)", "say", "3"]),
        (
            "name: x\nevents:\n  - at: 0\n    intent: OrderPizzaIntent\n",
            "intent.yaml",
            ["intent: expected one of", "'OrderPizzaIntent'"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    audio: nowhere.wav\n",
            "audio.yaml",
            ["line 3: event 0: events[0].audio: expected a WAV file", "nowhere.wav"],
        ),
        (
            "name: x\npolicy: missing-policy.toml\nevents:\n  - at: 0\n    say: hi\n",
            "policy.yaml",
            ["missing-policy.toml"],
        ),
        (
            "name: x\nevents:\n  - at: 1.0e12\n    say: hi\n",
            "far.yaml",
            ["line 3: event 0: events[0].at", "less than or equal to 34560000", "1.0e12"],
        ),
        (
            "name: x\nevents:\n  - at: .nan\n    say: hi\n",
            "nan.yaml",
            ["line 3: event 0: events[0].at", "finite number", "nan"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    say: hi\n    duration: .inf\n",
            "inf.yaml",
            ["line 5: event 0: events[0].duration", "finite number", "inf"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    say: hi\n    duration: -2\n",
            "negative.yaml",
            ["events[0].duration", "greater than 0", "-2"],
        ),
        (
            '{"at": 1e12, "say": "hi"}\n',
            "far.jsonl",
            ["line 1 (event 0): at", "less than or equal to 34560000"],
        ),
    ],
)
def test_exit_2_for_an_unusable_file_with_a_message_naming_it(
    tmp_path: Path, text: str, name: str, fragments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path.name) in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def test_an_unexpected_error_exits_2_in_one_line_with_the_traceback_on_debug(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_settings(_path: Path | None) -> Settings:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(cli_simulate, "load_settings", broken_settings)
    showcase = str(EXAMPLES / "showcase.yaml")
    assert main(["simulate", showcase]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"askfirst simulate: {showcase}: unexpected OverflowError: 'date value out of range' "
        "(a bug; run with --log-level DEBUG for the traceback)"
    ]
    caplog.set_level(logging.DEBUG, logger="askfirst.skill.cli.simulate")
    assert main(["--log-level", "DEBUG", "simulate", showcase]) == 2
    logged = [r for r in caplog.records if r.name == "askfirst.skill.cli.simulate" and r.exc_info]
    assert logged and "OverflowError" in caplog.text and "Traceback" in caplog.text


def test_exit_2_for_a_missing_file_and_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the scenario file" in capsys.readouterr().err
    assert main(["simulate"]) == 2
    assert "expected a scenario FILE" in capsys.readouterr().err


def test_json_output_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--json", str(EXAMPLES / "showcase.yaml")]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event"] for r in records] == list(range(10))
    for record in records:
        assert {
            "event",
            "transcript",
            "tag",
            "tag_reasons",
            "question",
            "decision",
            "offer",
        } <= set(record)
    offered = records[2]
    assert offered["tag"] == "prompted" and offered["tag_reasons"] == ["wake_word_verified"]
    assert offered["question"]["topic"] == "running shoes"
    assert offered["decision"]["permit"] is True and offered["decision"]["rule"] == "permit"
    assert {o["code"] for o in offered["decision"]["obligations"]} >= {"disclose"}
    assert len(offered["decision"]["results"]) == 10
    assert offered["offer"]["id"] == "shoes-trailblazer"
    assert offered["offer"]["disclosure"] == "Sponsored by Trailblazer."
    asked = records[6]
    assert asked["kind"] == "assistant_asks" and asked["decision"] is None
    broadcast = records[3:6]
    assert all(r["tag_reasons"] == ["broadcast"] and r["offer"] is None for r in broadcast)


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    committed = json.loads((REPO / "schemas" / "scenario.schema.json").read_text("utf-8"))
    assert printed == committed


@pytest.mark.slow
def test_a_jsonl_batch_of_thousands_of_events(tmp_path: Path, settings: Settings) -> None:
    lines = []
    kinds = [
        ("we are out of coffee", "none", "ambient", False),
        ("Alexa, what coffee do you recommend?", "wake_word", "prompted", None),
        ("Alexa is so annoying", "none", "ambient", False),
        ("what tea do you recommend?", "push_to_talk", "prompted", None),
    ]
    count = 2000
    for i in range(count):
        text, trigger, tag, offer = kinds[i % len(kinds)]
        expect: dict[str, object] = {"tag": tag}
        if offer is not None:
            expect["offer"] = offer
        event = {"at": i * 2.0, "device": f"d{i % 5}", "user": f"u{i % 40}", "say": text}
        lines.append(json.dumps({**event, "trigger": trigger, "expect": expect}))
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    report = run(path, settings)
    elapsed = time.perf_counter() - started
    assert report.ok, "\n".join(report.failures[:5])
    assert len(report.outcomes) == count
    offers = sum(1 for o in report.outcomes if o.result and o.result["offer"])
    assert 0 < offers <= count // 2, f"{offers} offers in {count} events ({elapsed:.1f} s)"


def test_colour_only_when_asked_or_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    asked = str(EXAMPLES / "asked.yaml")
    assert main(["simulate", "--color", "always", asked]) == 0
    assert "\033[32mprompted\033[0m" in capsys.readouterr().out
    assert main(["simulate", asked]) == 0  # captured output is not a terminal
    assert "\033[" not in capsys.readouterr().out


def test_verbose_shows_every_rule_and_quiet_only_the_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    asked = str(EXAMPLES / "asked.yaml")
    assert main(["simulate", "-v", asked]) == 0
    verbose = capsys.readouterr().out
    assert "R10.limit_ad_tracking" in verbose and "R5.evidence_provenance" in verbose
    assert main(["simulate", "-q", asked]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2 events, 2 turns: 1 ambient, 1 offer made",
        "all 2 expectations held",
    ]
