"""The scenario format: what loads, and the errors for what does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askfirst.skill.simulator.scenario import Scenario, ScenarioError, load_scenario, schema

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_scenario_loads_with_defaults_and_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
name: kitchen
users: {ben: {child_profile: true}}
events:
  - at: 0
    say: I need new running shoes
  - at: 1.5
    device: kitchen
    user: anna
    say: alexa, what running shoes do you recommend
    trigger: wake_word
    expect: {tag: prompted, offer: true, question: running shoes}
  - at: 3
    assistant_asks: Which size?
  - at: 4
    intent: DealQuestionIntent
    slots: {product: coffee}
  - at: 5
    decline: coffee-deal
""",
    )
    loaded = load_scenario(path)
    events = loaded.scenario.events
    assert loaded.scenario.locale == "en-US"
    assert [e.kind for e in events] == ["say", "say", "assistant_asks", "intent", "decline"]
    assert events[0].device == "default" and events[0].trigger == "none"
    assert events[1].expect is not None and events[1].expect.offer is True
    assert loaded.scenario.users["ben"].child_profile is True
    assert loaded.lines == (4, 6, 12, 14, 17)
    assert loaded.resolve("clip.wav") == tmp_path / "clip.wav"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "name: x\nevents:\n  - at: 0\n    say: hi\n    expect: {tag: sometimes}\n",
            ["line 5", "event 0", "events[0].expect.tag", "'prompted' or 'ambient'", "'sometimes'"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    sya: hi\n",
            ["line 4", "event 0", "events[0].sya", "unknown field"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    say: hi\n    intent: HelpIntent\n",
            ["event 0", "exactly one of say, audio", "got say, intent"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    trigger: wake_word\n",
            ["event 0", "exactly one of", "got none of them"],
        ),
        (
            "name: x\nevents:\n  - at: -1\n    say: hi\n",
            ["line 3", "events[0].at", "greater than or equal to 0", "-1"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    say: hi\n    trigger: clap\n",
            ["line 5", "events[0].trigger", "'clap'"],
        ),
        (
            "name: x\nevents:\n  - at: 0\n    assistant_asks: Which?\n    trigger: wake_word\n",
            ["event 0", "trigger applies to say/audio only"],
        ),
        (
            "name: x\nevents:\n  - at: 2\n    say: a\n  - at: 1\n    say: b\n",
            ["events must be in time order", "event 1 at 1", "event 0 at 2"],
        ),
        ("events:\n  - at: 0\n    say: hi\n", ["name: required field is missing"]),
        ("name: x\nevents: []\n", ["events", "at least 1"]),
        ("name: x\nevents: [at: 0\n", ["line", "expected YAML"]),
        ("- just\n- a list\n", ["expected a mapping with name and events, got list"]),
    ],
)
def test_bad_yaml_names_file_line_event_field_and_problem(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_jsonl_events_with_per_event_locale(tmp_path: Path) -> None:
    lines = [
        {"at": 0, "say": "I need coffee"},
        {},
        {"at": 1, "device": "hall", "say": "alexa do you sell coffee", "trigger": "wake_word"},
        {"at": 2, "locale": "ko-KR", "say": "아리아, 커피 추천해 줘", "trigger": "wake_word"},
    ]
    text = "\n".join("" if not line else json.dumps(line, ensure_ascii=False) for line in lines)
    loaded = load_scenario(write(tmp_path, text, "batch.jsonl"))
    assert loaded.scenario.name == "batch"
    assert [e.locale for e in loaded.scenario.events] == [None, None, "ko-KR"]
    assert loaded.lines == (1, 3, 4)


@pytest.mark.parametrize(
    ("lines", "fragments"),
    [
        (['{"at": 0, "say": "a"}', "{not json"], ["line 2 (event 1)", "invalid JSON"]),
        (['{"at": 0, "say": "a"}', "[1, 2]"], ["line 2 (event 1)", "expected a JSON object"]),
        (
            ['{"at": 0, "say": "a", "expect": {"offer": []}}'],
            ["line 1 (event 0)", "expect.offer", "[]"],
        ),
        (['{"at": 5, "say": "a"}', '{"at": 1, "say": "b"}'], ["line 2", "time order", "1.0"]),
        ([""], ["expected at least one event line"]),
    ],
)
def test_bad_jsonl_names_line_event_and_field(
    tmp_path: Path, lines: list[str], fragments: list[str]
) -> None:
    path = write(tmp_path, "\n".join(lines), "bad.jsonl")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the scenario file"):
        load_scenario(tmp_path / "missing.yaml")


def test_jsonl_flag_overrides_the_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, '{"at": 0, "say": "hello"}\n', "events.txt")
    assert load_scenario(path, jsonl=True).scenario.events[0].say == "hello"


def test_committed_schema_is_up_to_date() -> None:
    committed = json.loads((REPO / "schemas" / "scenario.schema.json").read_text("utf-8"))
    assert committed == schema(), (
        "regenerate: askfirst simulate --schema > schemas/scenario.schema.json"
    )


def test_schema_round_trip_of_a_scenario() -> None:
    scenario = Scenario.model_validate(
        {"name": "n", "events": [{"at": 0, "say": "hi", "expect": {"offer": "coffee-deal"}}]}
    )
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert set(schema()["properties"]) >= {"name", "locale", "policy", "users", "events"}
