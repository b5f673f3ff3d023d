"""``askfirst wyoming`` as a real process: --help, listening, describe, one turn, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from wyoming.asr import Transcript
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info

from askfirst.skill.cli.main import main

ASKFIRST = Path(sys.executable).parent / "askfirst"


def test_help_names_the_uri_and_the_home_assistant_steps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["wyoming", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--uri" in out and "tcp://HOST:PORT" in out
    assert "Wyoming Protocol" in out and "--device-id" in out
    assert "--metrics-port" in out and "/metrics" in out


def test_a_bad_uri_is_refused_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'store_url = "sqlite:///{tmp_path / "a.db"}"\n', encoding="utf-8")
    assert main(["wyoming", "--uri", "http://x:1", "--settings", str(settings)]) == 2
    assert "expected tcp://HOST:PORT or unix:///PATH" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _talk(port: int) -> tuple[Info, Event]:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Describe().event())
        info = await asyncio.wait_for(client.read_event(), 10)
        assert info is not None
    async with AsyncTcpClient("127.0.0.1", port) as client:
        turn = Transcript(text="Any deals on tea?", language="en", context={"conversation_id": "x"})
        await client.write_event(turn.event())
        answer = await asyncio.wait_for(client.read_event(), 10)
        assert answer is not None
    return Info.from_event(info), answer


def test_the_process_serves_describe_and_a_turn_then_stops_on_sigterm(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'store_url = "sqlite:///{tmp_path / "wyoming.db"}"\n'
        "broadcast_hold_seconds = 0.0\n"
        '[wyoming_listeners."tcp://127.0.0.1:PORT"]\n'
        'device_id = "hall"\n'
        'household = "park"\n',
        encoding="utf-8",
    )
    port = _free_port()
    text = settings.read_text(encoding="utf-8").replace("PORT", str(port))
    settings.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKFIRST_")}
    process = subprocess.Popen(
        [str(ASKFIRST), "wyoming", "--uri", f"tcp://127.0.0.1:{port}", "--settings", str(settings)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while "listening on" not in line:
            assert time.monotonic() < deadline and process.poll() is None, line
            line = process.stderr.readline()
        assert "device 'hall'" in line
        info, answer = asyncio.run(_talk(port))
        assert [p.name for p in info.handle] == ["askfirst"]
        assert answer.type == "handled", answer
        assert answer.data["context"]["askfirst"]["device_id"] == "hall"
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
    assert status == 0


def test_metrics_port_serves_the_wyoming_turns_to_a_real_scrape(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'store_url = "sqlite:///{tmp_path / "wyoming.db"}"\nbroadcast_hold_seconds = 0.0\n',
        encoding="utf-8",
    )
    port, metrics_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKFIRST_")}
    process = subprocess.Popen(
        [
            *(str(ASKFIRST), "wyoming", "--uri", f"tcp://127.0.0.1:{port}"),
            *("--settings", str(settings), "--metrics-port", str(metrics_port)),
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        lines = [""]
        while "listening on" not in lines[-1]:
            assert time.monotonic() < deadline and process.poll() is None, lines
            lines.append(process.stderr.readline())
        assert any(f"metrics on http://127.0.0.1:{metrics_port}/metrics" in x for x in lines)
        _, answer = asyncio.run(_talk(port))
        assert answer.type == "handled", answer
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode("utf-8")
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
    assert status == 0
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("askfirst_turns_total", (("tag", "prompted"),))] == 1
    assert samples[("askfirst_wyoming_seconds_count", (("step", "handle"),))] == 1
    assert samples[("askfirst_store_seconds_count", (("operation", "turn"),))] >= 1


def test_a_metrics_port_in_use_is_refused_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "settings.toml"
    settings.write_text(f'store_url = "sqlite:///{tmp_path / "a.db"}"\n', encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        args = ["wyoming", "--uri", f"tcp://127.0.0.1:{_free_port()}", "--settings", str(settings)]
        assert main([*args, "--metrics-port", busy]) == 2
    assert f"--metrics-port: cannot serve metrics on 127.0.0.1:{busy}" in capsys.readouterr().err
