"""The ``askfirst`` command line: every subcommand is wired, helps, and exits as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from askfirst.skill.cli import main as cli
from askfirst.skill.cli.main import main

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ("serve", "simulate", "model", "audit", "explain", "policy", "skill", "user")
SUBCOMMAND_HELP = (
    ("serve",),
    ("simulate",),
    ("model",),
    ("model", "list"),
    ("model", "download"),
    ("audit",),
    ("audit", "verify"),
    ("explain",),
    ("policy",),
    ("policy", "check"),
    ("skill",),
    ("skill", "model"),
    ("user",),
    ("user", "forget"),
)


def test_help_lists_every_command_with_a_description_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        lines = [line for line in out.splitlines() if line.strip().startswith(command + " ")]
        assert lines, f"{command!r} missing from askfirst --help:\n{out}"
        assert "unavailable" not in lines[0], lines[0]
        assert len(lines[0].split()) > 2, f"{command!r} has no description: {lines[0]!r}"
    for code in ("0  ok", "1  an expectation or check failed", "2  unusable input"):
        assert code in out


@pytest.mark.parametrize("words", SUBCOMMAND_HELP, ids=" ".join)
def test_every_subcommand_has_help(
    words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*words, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: askfirst " + " ".join(words))


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: askfirst" in capsys.readouterr().err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_a_missing_subcommand_module_leaves_the_others_working(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        cli, "SUBCOMMAND_MODULES", ("askfirst.skill.cli.policy", "askfirst.skill.cli.missing_x")
    )
    assert main(["missing_x", "anything"]) == 2
    assert "unavailable in this install" in capsys.readouterr().err
    assert main(["policy", "check", "--help"]) == 0


def test_policy_check_accepts_the_example_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(REPO / "examples" / "policy.toml")]) == 0
    out = capsys.readouterr().out
    assert "valid policy" in out and "catalog:" in out


def test_policy_check_names_the_bad_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (REPO / "examples" / "policy.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.replace('kind = "spoken_deal"', 'kind = "banner"', 1), encoding="utf-8")
    assert main(["policy", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "kind" in err and "'banner'" in err


def test_policy_check_of_an_unreadable_file_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent.toml"
    assert main(["policy", "check", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    assert main(["policy", "check", str(tmp_path)]) == 2  # a directory, not a file
    assert str(tmp_path) in capsys.readouterr().err


def test_policy_check_help_documents_only_0_and_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "0 valid, 2 unreadable or invalid" in out and " 1 " not in out.split("exit status")[1]


def test_the_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "askfirst"
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "simulate" in done.stdout and "exit status" in done.stdout
