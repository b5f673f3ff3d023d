"""``--url``: the same scenario against the Flask app on a loopback port gives the same results."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.cli.main import main
from askfirst.skill.settings import Settings, load_settings
from askfirst.skill.simulator.inprocess import InProcess
from askfirst.skill.simulator.remote import OverHttp
from askfirst.skill.simulator.runner import Report, simulate
from askfirst.skill.simulator.scenario import ScenarioError, load_scenario
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet

REPO = Path(__file__).resolve().parents[2]
DEVICES = ("living-room", "kitchen", "bedroom", "hall", "study")
TOKENS = {f"tok-{device}": device for device in DEVICES}
SAME = [
    REPO / "examples" / "scenarios" / "showcase.yaml",
    REPO / "tests" / "scenarios" / "broadcast.yaml",
    REPO / "tests" / "scenarios" / "follow_up.yaml",
    REPO / "tests" / "scenarios" / "ambient_never_offers.yaml",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """The real Flask app with a real SQLite store, served by werkzeug on 127.0.0.1."""
    # A broadcast is matched only among requests that reach the server within its hold; the
    # simulator sends them at once, but on a loaded machine the default 0.5 s can pass first.
    settings = load_settings(
        store_url=f"sqlite:///{tmp_path / 'server.db'}",
        device_tokens=TOKENS,
        broadcast_hold_seconds=3.0,
    )
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=open_store(settings.store_url, retention=timedelta(days=settings.retention_days)),
        transcribers=TranscriberSet(),
        config=settings.turn_config(),
    )
    httpd: BaseWSGIServer = make_server(
        "127.0.0.1", 0, create_app(settings, pipeline=pipeline), threaded=True
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", settings
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()
        pipeline.close()


RANDOM_ID = re.compile(r"\b[0-9a-f]{32}\b")


def comparable(report: Report) -> list[dict[str, Any]]:
    """Each event's JSON with the ids that are random per run blanked out."""
    records = []
    for outcome in report.outcomes:
        record = outcome.to_json()
        if record["decision"] is not None:
            record["decision"] = {
                k: v for k, v in record["decision"].items() if k not in ("id", "evidence_ids")
            }
        records.append(json.loads(RANDOM_ID.sub("<id>", json.dumps(record))))
    return records


@pytest.mark.parametrize("path", SAME, ids=lambda p: p.name)
def test_url_mode_gives_the_same_results_as_in_process(
    path: Path, server: tuple[str, Settings], settings: Settings
) -> None:
    url, _ = server
    loaded = load_scenario(path)
    local = InProcess.create(loaded, settings, transcribers=TranscriberSet())
    try:
        in_process = simulate(loaded, local)
    finally:
        local.close()
    tokens = [f"{device}={token}" for token, device in TOKENS.items()]
    remote = OverHttp.for_scenario(loaded, url, tokens)
    try:
        over_http = simulate(loaded, remote, start=datetime.now(UTC))
    finally:
        remote.close()
    assert in_process.ok, in_process.failures
    assert over_http.ok, over_http.failures
    assert comparable(over_http) == comparable(in_process)


def test_cli_url_mode_runs_the_showcase(
    server: tuple[str, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = server
    showcase = str(REPO / "examples" / "scenarios" / "showcase.yaml")
    tokens = [arg for token, device in TOKENS.items() for arg in ("--token", f"{device}={token}")]
    assert main(["simulate", "--json", "--url", url, *tokens, showcase]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["tag"] for r in records[3:6]] == ["ambient"] * 3
    assert records[2]["offer"]["id"] == "shoes-trailblazer"


def test_url_mode_with_a_wrong_token_exits_2_naming_the_server_answer(
    server: tuple[str, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = server
    asked = str(REPO / "examples" / "scenarios" / "asked.yaml")
    assert main(["simulate", "--url", url, "--token", "not-a-token", asked]) == 2
    err = capsys.readouterr().err
    assert "asked.yaml: line 6: event 0" in err
    assert "/v1/utterances for device 'hall': expected 2xx JSON, got 403" in err


@pytest.mark.parametrize(
    ("name", "tokens", "fragment"),
    [
        ("declined_upsell.yaml", ["t"], "Alexa intents reach a server only as signed /alexa"),
        ("child_profile.yaml", ["t"], "users.mia.child_profile: the device API cannot set"),
        ("tv_broadcast.yaml", ["kitchen=t"], "expected a token for every device"),
        ("asked.yaml", ["=t"], "expected TOKEN or DEVICE=TOKEN, got '=t'"),
        ("tv_broadcast.yaml", ["t"], "expected one --token DEVICE=TOKEN per device"),
    ],
)
def test_url_mode_refuses_what_the_device_api_cannot_do(
    name: str, tokens: list[str], fragment: str
) -> None:
    loaded = load_scenario(REPO / "examples" / "scenarios" / name)
    with pytest.raises(ScenarioError) as caught:
        OverHttp.for_scenario(loaded, "http://127.0.0.1:9", tokens)
    assert fragment in str(caught.value)


def test_an_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    asked = str(REPO / "examples" / "scenarios" / "asked.yaml")
    assert main(["simulate", "--url", "http://127.0.0.1:9", "--token", "t", asked]) == 2
    assert "POST http://127.0.0.1:9/v1/utterances: expected a response" in capsys.readouterr().err


def test_a_second_run_against_the_same_server_starts_fresh(
    server: tuple[str, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = server
    asked = str(REPO / "examples" / "scenarios" / "asked.yaml")
    devices = {event.device for event in load_scenario(Path(asked)).scenario.events}
    tokens = [f"{device}={token}" for token, device in TOKENS.items() if device in devices]
    argv = ["simulate", "--url", url, *(w for t in tokens for w in ("--token", t)), asked]
    assert main(argv) == 0, capsys.readouterr()
    first = capsys.readouterr().err
    assert main(argv) == 0, capsys.readouterr()  # the same users would be over their caps
    second = capsys.readouterr().err
    assert "run id run-" in first and "run id run-" in second and first != second
