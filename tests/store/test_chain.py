"""The pure hash chain: links, verification and checkpoint files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from askfirst.store.chain import (
    GENESIS,
    ChainVerifier,
    Checkpoint,
    Link,
    StoredRecord,
    canonical,
    digest_of,
    genesis,
    link_hash,
    shard_of,
)
from askfirst.store.checkpoint import read_checkpoint, read_checkpoints, write_checkpoint
from askfirst.store.errors import BadValueError

AT = "2024-05-17T12:30:00.000000+00:00"


def chain(n: int) -> list[StoredRecord]:
    out = []
    prev = GENESIS
    for seq in range(1, n + 1):
        payload = canonical({"n": seq, "user_id": "alice"})
        link = Link(seq=seq, at=AT, kind="decision", digest=digest_of(payload), permit=seq % 2 == 0)
        prev = link_hash(prev, link)
        out.append(
            StoredRecord(link=link, hash=prev, payload=payload, erased_by=None, user_id="alice")
        )
    return out


def verify(records: list[StoredRecord], **kw: object) -> tuple[bool, list[str]]:
    v = ChainVerifier(**kw)  # type: ignore[arg-type]
    for r in records:
        v.feed(r)
    report = v.finish(heads=None)
    return report.ok, report.problems


def test_untouched_chain_verifies() -> None:
    records = chain(5)
    v = ChainVerifier()
    for r in records:
        v.feed(r)
    report = v.finish(heads={0: (5, records[-1].hash)})
    assert report.ok, report.problems
    assert report.count == 5
    assert report.heads == {0: (5, records[-1].hash)}


def test_canonical_text_is_independent_of_key_order() -> None:
    assert canonical({"b": 1, "a": "é"}) == canonical({"a": "é", "b": 1}) == '{"a":"é","b":1}'


def test_every_chained_field_changes_the_hash() -> None:
    link = Link(
        seq=1,
        at=AT,
        kind="decision",
        digest="d",
        decision_id="x",
        permit=True,
        rule="permit",
        policy_hash="p",
    )
    base = link_hash(GENESIS, link)
    for name, value in [
        ("seq", 2),
        ("at", "x"),
        ("kind", "purge"),
        ("digest", "e"),
        ("decision_id", "y"),
        ("permit", False),
        ("rule", "R1"),
        ("policy_hash", "q"),
    ]:
        changed: dict[str, Any] = {name: value}
        assert link_hash(GENESIS, dataclasses.replace(link, **changed)) != base, name
    assert link_hash("1" * 64, link) != base


def test_edited_payload_is_detected() -> None:
    records = chain(3)
    records[1] = dataclasses.replace(records[1], payload=canonical({"n": 99, "user_id": "alice"}))
    ok, problems = verify(records)
    assert not ok
    assert "record seq 2: payload digest" in problems[0]


def test_erased_payload_without_forget_record_is_detected() -> None:
    records = chain(3)
    records[0] = dataclasses.replace(records[0], payload=None, erased_by=3, user_id=None)
    ok, problems = verify(records)
    assert not ok
    assert "record seq 1: payload is missing but no later 'forget' record" in problems[0]


def test_head_row_mismatch_is_detected() -> None:
    records = chain(3)
    v = ChainVerifier()
    for r in records[:2]:
        v.feed(r)
    report = v.finish(heads={0: (3, records[2].hash)})
    assert not report.ok
    assert "shard 0: chain head row says 3 records" in report.problems[0]


def test_problem_list_is_capped() -> None:
    records = [dataclasses.replace(r, hash="0" * 64) for r in chain(80)]
    ok, problems = verify(records)
    assert not ok
    assert problems[-1].startswith("... and ")


KEY = b"k" * 32


def test_checkpoint_file_round_trips_and_never_overwrites(tmp_path: Path) -> None:
    cp = Checkpoint(
        heads={0: (7, "a" * 64), 3: (2, "b" * 64)}, at=datetime(2024, 5, 17, tzinfo=UTC)
    )
    folder = tmp_path / "deep"
    first = write_checkpoint(folder, cp, key=KEY)
    second = write_checkpoint(folder, cp, key=KEY)
    assert first != second
    assert read_checkpoint(first, key=KEY) == cp == read_checkpoint(second, key=KEY)
    assert cp.count == 9


def test_a_checkpoint_under_another_key_is_refused(tmp_path: Path) -> None:
    cp = Checkpoint(heads={0: (7, "a" * 64)}, at=datetime(2024, 5, 17, tzinfo=UTC))
    path = write_checkpoint(tmp_path, cp, key=KEY)
    with pytest.raises(BadValueError, match="its MAC does not match the audit key"):
        read_checkpoint(path, key=b"x" * 32)
    found, problems = read_checkpoints(tmp_path, key=b"x" * 32)
    assert found == [] and "refused" in problems[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "expected JSON in checkpoint file"),
        ("[1]", "expected a keyed checkpoint"),
        (json.dumps({"count": 1, "head": "a" * 64, "at": AT}), "expected a keyed checkpoint"),
        (json.dumps({"body": {"heads": {}}, "mac": "0" * 64}), "MAC does not match"),
    ],
)
def test_bad_checkpoint_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(BadValueError, match=message):
        read_checkpoint(path, key=KEY)


def test_missing_checkpoint_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadValueError, match="expected a readable checkpoint file"):
        read_checkpoint(tmp_path / "nope.json", key=KEY)


def test_shards_spread_users_and_keep_each_user_in_one() -> None:
    shards = [shard_of(f"user-{n}", 16) for n in range(1600)]
    assert shard_of("user-7", 16) == shard_of("user-7", 16)
    assert min(shards.count(s) for s in range(16)) > 50
    assert len({genesis(s) for s in range(16)}) == 16 and genesis(0) == GENESIS
