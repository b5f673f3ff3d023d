"""The audit, user and explain subcommands against a real store."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from askfirst.skill.cli.audit import register
from askfirst.skill.cli.main import main
from askfirst.store.base import open_store
from askfirst.store.schema import audit_log
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, decision, utterance


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="askfirst")
    register(parser.add_subparsers(dest="command", required=True))
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # argparse refuses bad arguments with exit status 2
        return int(exc.code or 0)
    return int(args.func(args))


@pytest.fixture
def url(store_url: str) -> str:
    store = open_store(store_url)
    try:
        for n in range(3):
            with store.turn(user_id="alice", session_id="s1", now=NOW) as tx:
                tx.record(
                    utterance=utterance(f"u{n}", user_id="alice"),
                    decision=decision(f"d{n}", utterance_id=f"u{n}", permit=n == 0),
                    consent=tx.user_state(),
                )
    finally:
        store.close()
    return store_url


def test_verify_checkpoint_and_truncation(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "checkpoints"
    key = tmp_path / "audit.key"
    assert run("audit", "verify", "--store", url) == 0
    assert "audit log OK: 3 records in 16 shards, no audit key" in capsys.readouterr().out
    assert run("audit", "checkpoint", "--store", url) == 2
    assert "expected --checkpoints DIR" in capsys.readouterr().err
    assert run("audit", "new-key", str(key)) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert run("audit", "new-key", str(key)) == 2  # never replaced
    capsys.readouterr()
    assert run("audit", "checkpoint", "--store", url, "--checkpoints", str(folder)) == 2
    assert "expected an audit key" in capsys.readouterr().err
    keyed = ("--store", url, "--checkpoints", str(folder), "--key-file", str(key))
    assert run("audit", "checkpoint", *keyed) == 0
    assert len(list(folder.iterdir())) == 1
    store = open_store(url)
    assert isinstance(store, SqlStore)
    shard = store.shard_of("alice")
    with store._engine.begin() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.shard == shard, audit_log.c.seq == 2))
    store.close()
    assert run("audit", "verify", *keyed) == 1
    err = capsys.readouterr().err
    assert "audit log FAILED verification" in err
    assert "record seq 3: expected seq 2" in err


def test_forget_records_the_request_reference(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run("user", "forget", "alice", "--store", url, "--reference", "TICKET-9") == 0
    out = tmp_path / "log.jsonl"
    assert run("audit", "export", "--store", url, "--out", str(out)) == 0
    (forget,) = [
        json.loads(line)
        for line in out.read_text().splitlines()
        if json.loads(line)["kind"] == "forget"
    ]
    assert forget["payload"]["reference"] == "TICKET-9"
    assert forget["payload"]["erased_records"] == 3


def test_explain_then_forget(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("explain", "d0", "--store", url) == 0
    out = capsys.readouterr().out
    assert "Trail runner" in out
    assert "R1.prompted" in out
    assert run("user", "forget", "alice", "--store", url) == 0
    assert "rows removed or erased" in capsys.readouterr().out
    assert run("explain", "d0", "--store", url) == 1
    assert "expected a logged decision id, got 'd0'" in capsys.readouterr().err
    assert run("audit", "verify", "--store", url) == 0


def test_export_and_purge(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.jsonl"
    assert run("audit", "export", "--store", url, "--out", str(out)) == 0
    assert [json.loads(line)["seq"] for line in out.read_text().splitlines()] == [1, 2, 3]
    assert run("audit", "export", "--store", url, "--out", str(tmp_path)) == 2
    assert "cannot write" in capsys.readouterr().err
    assert run("audit", "purge", "--store", url, "--retention-days", "1") == 0
    assert "purged 3 transcripts" in capsys.readouterr().out  # NOW is long past
    assert run("audit", "purge", "--store", url, "--retention-days", "0") == 2


@pytest.mark.parametrize("days", ["nan", "inf", "1e12", "-1", "0", "thirty"])
def test_purge_refuses_a_retention_that_is_not_a_sane_number_of_days(
    days: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert run("audit", "purge", "--store", url, "--retention-days", days) == 2
    err = capsys.readouterr().err
    assert "--retention-days: expected a number of days" in err and repr(days) in err


def test_purge_retention_goes_by_when_each_transcript_was_spoken(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(store_url, retention=timedelta(days=3650))  # expiry far in the future
    spoken = datetime.now(UTC) - timedelta(seconds=2)
    try:
        with store.turn(user_id="alice", session_id="s1", now=datetime.now(UTC)) as tx:
            tx.record(
                utterance=utterance("fresh", user_id="alice", at=spoken),
                decision=decision("d-fresh", utterance_id="fresh"),
                consent=tx.user_state(),
            )
    finally:
        store.close()
    assert run("audit", "purge", "--store", store_url, "--retention-days", "30") == 0
    assert "purged 0 transcripts older than 30 days" in capsys.readouterr().out
    assert run("audit", "purge", "--store", store_url, "--retention-days", "1e-5") == 0  # 0.864 s
    assert "purged 1 transcripts" in capsys.readouterr().out
    assert run("audit", "verify", "--store", store_url) == 0


def test_a_bad_retention_environment_breaks_only_purge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).close()  # maintenance commands never create a store (issue 15)
    monkeypatch.setenv("ASKFIRST_RETENTION_DAYS", "thirty")
    assert main(["--help"]) == 0
    assert main(["audit", "verify", "--store", url]) == 0
    capsys.readouterr()
    assert main(["audit", "purge", "--store", url]) == 2
    assert "ASKFIRST_RETENTION_DAYS: expected a number of days, got 'thirty'" in (
        capsys.readouterr().err
    )
    assert main(["audit", "purge", "--store", url, "--retention-days", "7"]) == 0
    monkeypatch.setenv("ASKFIRST_RETENTION_DAYS", "2")
    assert main(["audit", "purge", "--store", url]) == 0
    assert "older than 2 days" in capsys.readouterr().out


def test_unusable_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("audit", "verify", "--store", "mysql://nowhere/db") == 2
    assert "expected scheme 'sqlite' or 'postgresql', got 'mysql'" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert run("explain", "d0", "--store", f"sqlite:///{blocker / 'x.db'}") == 2
    assert "no store at" in capsys.readouterr().err
