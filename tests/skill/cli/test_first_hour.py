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


def _scenario(tmp_path: Path, body: str, name: str = "s.yaml") -> str:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return str(path)


def test_an_expected_offer_outside_the_catalog_is_unusable_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        "name: t\nevents:\n  - at: 0\n    say: 'Alexa, any deals on coffee?'\n"
        "    trigger: wake_word\n"
        "    expect: {offer: coffee-supreme}\n",
    )
    assert main(["simulate", path]) == 2
    err = capsys.readouterr().err
    assert "expect.offer: expected a catalog id" in err
    assert "'coffee-morning-roast'" in err and "'coffee-supreme'" in err


def test_a_misspelt_expect_key_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        "name: t\nevents:\n  - at: 0\n    say: 'hello'\n    expect: {ofer: false}\n",
    )
    assert main(["simulate", path]) == 2
    assert "did you mean 'offer'?" in capsys.readouterr().err


def test_expected_question_matches_like_a_spoken_topic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        "name: t\nevents:\n  - at: 0\n"
        "    say: 'Alexa, do you have deals on noise cancelling headphones?'\n"
        "    trigger: wake_word\n    expect: {question: headphones, offer: headphones-quietwave}\n",
    )
    assert main(["simulate", path, "--color", "never"]) == 0, capsys.readouterr()


def test_korean_expectations_print_as_korean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _scenario(
        tmp_path,
        "name: t\nlocale: ko-KR\nevents:\n  - at: 0\n    say: '아리아, 커피 추천해 줘'\n"
        "    trigger: wake_word\n    expect: {question: 커피}\n",
    )
    assert main(["simulate", path, "--color", "never"]) == 0
    out = capsys.readouterr().out
    assert 'question="커피"' in out and "\\u" not in out


def test_json_output_into_a_closed_pipe_ends_quietly() -> None:
    showcase = str(ROOT / "examples" / "scenarios" / "showcase.yaml")
    done = subprocess.run(
        f"{sys.executable} -m askfirst.skill.cli.main simulate --json {showcase} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_skill_model_check_hint_repeats_the_policy_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "mine.toml"
    text = (ROOT / "examples" / "policy.toml").read_text(encoding="utf-8")
    policy.write_text(text.replace('"espresso", ', '"espresso", "cold brew", '), encoding="utf-8")
    assert main(["skill", "model", "--check", "--policy", str(policy)]) == 1
    assert f"run `askfirst skill model --policy {policy}`" in capsys.readouterr().err


def test_policy_check_reports_every_problem_and_shadowed_synonyms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "examples" / "policy.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text.replace('synonyms = ["shoes",', 'synonyms = ["Espresso", "shoes",', 1).replace(
            'locales = ["en-US", "ko-KR"]', 'locales = ["en-US", "xx-XX"]', 1
        ),
        encoding="utf-8",
    )
    assert main(["policy", "check", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert "locales[1]" in lines[0]
    assert "catalog[1].synonyms[0]" in lines[1] and "'Espresso'" in lines[1]
    assert "catalog[0].synonyms[2] ('coffee-morning-roast')" in lines[1]
