"""The README's examples, run as printed: a newcomer copies them, so they must work."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from askfirst.skill.cli.main import main
from askfirst.skill.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_the_scenario_tour_is_the_example_file_and_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tour = ROOT / "examples" / "scenarios" / "readme_tour.yaml"
    assert blocks(section("Scenarios and the simulator"), "yaml")[0] == tour.read_text("utf-8")
    assert main(["simulate", str(tour), "--color", "never"]) == 0, capsys.readouterr()
    assert "all 3 expectations held" in capsys.readouterr().out


def _serve_environment() -> dict[str, str]:
    command = blocks(section("Serving"), "sh")[0]
    pairs = re.findall(r"^(ASKFIRST_\w+)='([^']*)' \\$", command, flags=re.M)
    assert len(pairs) >= 3, command
    return dict(pairs)


def test_the_serving_example_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _serve_environment().items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.device_tokens and settings.alexa_skill_ids


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    """``askfirst serve --dev`` with the README's serving settings (no speech models)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKFIRST_")}
    env.update(_serve_environment())
    env.pop("ASKFIRST_VOSK_MODELS")  # "/path/to/vosk-model" is a placeholder to fill in
    env["ASKFIRST_STORE_URL"] = f"sqlite:///{tmp_path / 'askfirst.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "askfirst.skill.cli.main", "serve", "--dev", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_device_api_curl_examples_work_as_printed(dev_server: str) -> None:
    text = section("Serving")
    commands = [
        " ".join(line.rstrip("\\").strip() for line in block.strip().splitlines())
        for block in blocks(text, "sh")[1:]
    ]
    curls = [c for block in commands for c in re.split(r"\s(?=curl -s )", block)]
    assert len(curls) == 3, curls
    answers = []
    for curl in curls:
        assert curl.startswith("curl -s http://127.0.0.1:8080/")
        done = subprocess.run(
            ["bash", "-c", curl.replace("http://127.0.0.1:8080", dev_server)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        answers.append(json.loads(done.stdout))
    assert "error" not in answers[0], answers[0]
    assert answers[0]["tag"] == "prompted" and answers[0]["offer"]["id"] == "coffee-morning-roast"
    assert all("error" not in answer for answer in answers[1:]), answers


def test_the_storage_and_audit_commands_work_on_a_simulated_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'log.db'}"
    showcase = str(ROOT / "examples" / "scenarios" / "showcase.yaml")
    assert main(["simulate", showcase, "--store", store, "--json"]) == 0
    decided = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    decision_id = next(d["decision"]["id"] for d in decided if d.get("decision"))
    table = section("Storage and audit")
    for command in ("audit verify", "audit export", "explain DECISION_ID", "user forget USER"):
        assert f"`askfirst {command}" in table
    assert main(["audit", "verify", "--store", store]) == 0
    assert main(["audit", "export", "--store", store, "--out", str(tmp_path / "log.jsonl")]) == 0
    assert main(["explain", decision_id, "--store", store]) == 0
    assert main(["user", "forget", "anna", "--reference", "T-1", "--store", store]) == 0
    assert main(["audit", "verify", "--store", store]) == 0
    assert "Traceback" not in capsys.readouterr().err
