"""End to end, through the command line, on half a month of simulated traffic kept with an audit
key and a checkpoint history: a tampered transcript, a hand-written checkpoint and a miscounted
erasure each make ``audit verify`` fail (exit 1) naming what was wrong."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from askfirst.policy.config import EXAMPLE_POLICY_PATH
from tests.compliance.month import month_scenarios
from tests.compliance.test_month import POLICY_V2, cli


@dataclass(frozen=True)
class Kept:
    """A copy of the rehearsal's database, with its key and checkpoint history."""

    db: Path
    key: Path
    checkpoints: Path

    @property
    def store(self) -> str:
        return f"sqlite:///{self.db}"

    def verify(self) -> tuple[int, str]:
        status, _, err = cli(
            "audit", "verify", "--store", self.store,
            "--checkpoints", str(self.checkpoints), "--key-file", str(self.key),
        )  # fmt: skip
        return status, err

    def sql(self, statement: str, *params: object) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute(statement, params)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Half a month (the first policy), a forget with its reference, a final checkpoint."""
    directory = tmp_path_factory.mktemp("rehearsal")
    first, _ = month_scenarios(directory, policies=(EXAMPLE_POLICY_PATH.resolve(), POLICY_V2))
    store = f"sqlite:///{directory / 'month.db'}"
    common = ["--checkpoints", str(directory / "checkpoints"), "--key-file", str(directory / "key")]
    status, _, err = cli(
        "simulate", str(first), "--quiet", "--store", store, "--start", "2026-01-05",
        "--checkpoint-every", "50", *common,
    )  # fmt: skip
    assert status == 0, err
    status, _, err = cli(
        "user", "forget", "eve", "--reference", "TICKET-7", "--store", store,
        "--key-file", str(directory / "key"),
    )  # fmt: skip
    assert status == 0, err
    status, _, err = cli("audit", "checkpoint", "--store", store, *common)
    assert status == 0, err
    return directory


@pytest.fixture
def kept(rehearsal: Path, tmp_path: Path) -> Iterator[Kept]:
    for name in ("month.db", "key"):
        shutil.copy(rehearsal / name, tmp_path / name)
    shutil.copytree(rehearsal / "checkpoints", tmp_path / "checkpoints")
    copy = Kept(
        db=tmp_path / "month.db", key=tmp_path / "key", checkpoints=tmp_path / "checkpoints"
    )
    status, err = copy.verify()
    assert status == 0, err  # the untouched rehearsal verifies
    yield copy


def test_a_tampered_transcript_is_detected(kept: Kept) -> None:
    with sqlite3.connect(kept.db) as conn:
        (utterance_id,) = conn.execute(
            "SELECT id FROM utterances WHERE text LIKE 'Alexa, any deals on%' LIMIT 1"
        ).fetchone()
    kept.sql("UPDATE utterances SET text = 'Alexa, buy me anything' WHERE id = ?", utterance_id)
    status, err = kept.verify()
    assert status == 1
    assert f"utterance {utterance_id!r}: its transcript does not match the digest" in err


def test_a_hand_written_checkpoint_is_detected(kept: Kept) -> None:
    latest = sorted(kept.checkpoints.iterdir())[-1]
    saved = json.loads(latest.read_text("utf-8"))
    shard, (seq, _) = next((k, v) for k, v in saved["body"]["heads"].items() if v[0] > 0)
    saved["body"]["heads"][shard] = [seq, "0" * 64]  # a head the log never had
    (kept.checkpoints / "checkpoint-99990101T000000000000Z-hand.json").write_text(
        json.dumps(saved), encoding="utf-8"
    )
    status, err = kept.verify()
    assert status == 1
    assert "its MAC does not match the audit key" in err


def test_a_miscounted_erasure_is_detected(kept: Kept) -> None:
    with sqlite3.connect(kept.db) as conn:
        shard, seq, payload = conn.execute(
            "SELECT shard, seq, payload FROM audit_log WHERE kind = 'forget'"
        ).fetchone()
        erased = json.loads(payload)["erased_records"]
        (one,) = conn.execute(
            "SELECT seq FROM audit_log WHERE shard = ? AND erased_by = ? LIMIT 1", (shard, seq)
        ).fetchone()
    assert json.loads(payload)["reference"] == "TICKET-7" and erased > 10
    kept.sql("UPDATE audit_log SET erased_by = NULL WHERE shard = ? AND seq = ?", shard, one)
    status, err = kept.verify()
    assert status == 1
    assert f"expected {erased} erased records, found {erased - 1} erased by it" in err
