"""A newcomer's first hour: each place where it broke, as a test that failed before the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from askfirst.skill.cli.main import main
from askfirst.store.base import open_store

ROOT = Path(__file__).resolve().parents[3]
ASKFIRST = [sys.executable, "-m", "askfirst.skill.cli.main"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKFIRST_")}
    env.update(extra)
    return env


def test_demo_with_options_only_keeps_the_showcase() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo"), "--color", "never"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "showcase" in done.stdout.lower() or "kitchen" in done.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("ASKFIRST_DEVICE_TOKENS", "kitchen=abc", "expected a JSON object"),
        ("ASKFIRST_ALEXA_SKILL_IDS", "amzn1.ask.skill.x", "expected a JSON list"),
        ("ASKFIRST_VOSK_MODELS", "{not json", "expected a JSON object"),
    ],
)
def test_a_setting_that_is_not_json_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    env = _env(**{variable: value}, ASKFIRST_STORE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    done = subprocess.run(
        [*ASKFIRST, "serve", "--dev"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0] and expected in lines[0]
    assert "Traceback" not in done.stderr
    if variable == "ASKFIRST_DEVICE_TOKENS":
        assert value not in done.stderr  # tokens are secrets: never repeated


@pytest.mark.parametrize(
    "argv",
    [
        ["explain", "some-decision"],
        ["audit", "verify"],
        ["audit", "export"],
        ["audit", "purge"],
        ["user", "forget", "anna"],
        ["policy", "show", "0" * 64],
    ],
)
def test_a_missing_store_is_refused_not_created(
    tmp_path: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASKFIRST_STORE_URL", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no store at" in err and "askfirst.db" in err and "the default" in err
    assert not (tmp_path / "askfirst.db").exists()

    typo = tmp_path / "typo.db"
    monkeypatch.setenv("ASKFIRST_STORE_URL", f"sqlite:///{typo}")
    assert main(argv) == 2
    assert "ASKFIRST_STORE_URL" in capsys.readouterr().err
    assert not typo.exists()


def test_verify_opens_read_only_and_migrates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    open_store(url).close()  # a real store, at the current schema
    before = (tmp_path / "kept.db").stat().st_mtime_ns
    assert main(["audit", "verify", "--store", url]) == 0
    assert main(["explain", "nope", "--store", url]) == 1
    assert "expected a logged decision id" in capsys.readouterr().err
    assert (tmp_path / "kept.db").stat().st_mtime_ns == before


def test_a_database_that_is_not_a_store_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    assert main(["audit", "verify", "--store", f"sqlite:///{other}"]) == 2
    assert "expected an askfirst store" in capsys.readouterr().err
