"""Tampering with the audit log in the database is detected by verify (both back ends)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, select, update

from askfirst.store.base import open_store
from askfirst.store.chain import GENESIS, Link, canonical, digest_of, link_hash
from askfirst.store.errors import BadValueError
from askfirst.store.schema import audit_log, chain_head, decisions
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, decision, utterance


@pytest.fixture
def logged(store: SqlStore, checkpoint_path: Path) -> SqlStore:
    """A store with six audit records (four decisions, two consent changes), checkpointed."""
    for n in range(4):
        with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance(f"u{n}"),
                decision=decision(f"d{n}", utterance_id=f"u{n}", permit=n % 2 == 0),
                consent=tx.user_state(),
            )
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    store.set_opt_out(user_id="user-1", opted_out=False, now=NOW)
    assert store.audit_checkpoint(checkpoint_path).count == 6
    report = store.audit_verify(checkpoint_path)
    assert report.ok, report.problems
    return store


def run(store: SqlStore, *statements: object) -> None:
    """Raw SQL, as an attacker with database rights would run it."""
    with store._engine.begin() as conn:
        for s in statements:
            conn.execute(s)  # type: ignore[call-overload]


def problems(store: SqlStore, checkpoint: Path | None = None) -> str:
    report = store.audit_verify(checkpoint)
    assert not report.ok
    return "\n".join(report.problems)


def test_edited_payload_is_detected_and_never_explained(logged: SqlStore) -> None:
    with logged._engine.connect() as conn:
        payload = conn.execute(select(audit_log.c.payload).where(audit_log.c.seq == 2)).scalar()
    forged = str(payload).replace('"permit":false', '"permit":true')
    assert forged != payload
    run(logged, update(audit_log).where(audit_log.c.seq == 2).values(payload=forged))
    assert "record seq 2: payload digest" in problems(logged)
    with pytest.raises(BadValueError, match="the record was edited"):
        logged.get_decision("d1")


def test_edited_chained_field_is_detected(logged: SqlStore) -> None:
    run(logged, update(audit_log).where(audit_log.c.seq == 2).values(permit=True))
    found = problems(logged)
    assert "record seq 2: stored hash" in found


def test_edited_cap_index_is_detected(logged: SqlStore) -> None:
    run(logged, update(decisions).where(decisions.c.id == "d0").values(permit=False))
    assert "decision 'd0' has no matching audit record" in problems(logged)


def test_deleted_record_is_detected(logged: SqlStore) -> None:
    run(logged, delete(audit_log).where(audit_log.c.seq == 3))
    found = problems(logged)
    assert "record seq 4: expected seq 3" in found


def test_reordered_records_are_detected(logged: SqlStore) -> None:
    run(
        logged,
        update(audit_log).where(audit_log.c.seq == 2).values(seq=-2),
        update(audit_log).where(audit_log.c.seq == 3).values(seq=2),
        update(audit_log).where(audit_log.c.seq == -2).values(seq=3),
    )
    assert "record seq 2: stored hash" in problems(logged)


def test_inserted_record_is_detected(logged: SqlStore) -> None:
    with logged._engine.connect() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).all()
    statements: list[object] = [
        update(audit_log).where(audit_log.c.seq == r.seq).values(seq=r.seq + 1)
        for r in rows
        if r.seq >= 3
    ]
    body = canonical({"decision": "forged"})
    statements.append(
        audit_log.insert().values(
            seq=3,
            at=rows[0].at,
            kind="decision",
            digest=digest_of(body),
            hash="f" * 64,
            payload=body,
            decision_id="forged",
            permit=True,
        )
    )
    run(logged, *statements)
    assert "record seq 3: stored hash" in problems(logged)


def rewrite_chain(conn: Connection, *, keep: int | None = None) -> None:
    """What an attacker who knows the algorithm does: recompute every hash and the head."""
    rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    if keep is not None:
        conn.execute(delete(audit_log).where(audit_log.c.seq > keep))
        rows = rows[:keep]
    prev = GENESIS
    for r in rows:
        payload = r.payload.replace('"opt_out":true', '"opt_out":false')
        link = Link(
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            digest=digest_of(payload),
            decision_id=r.decision_id,
            permit=r.permit,
            rule=r.rule,
            policy_hash=r.policy_hash,
        )
        prev = link_hash(prev, link)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == r.seq)
            .values(payload=payload, digest=link.digest, hash=prev)
        )
    conn.execute(update(chain_head).values(seq=len(rows), hash=prev))


def test_truncated_log_is_detected_only_with_the_checkpoint(
    logged: SqlStore,
    checkpoint_path: Path,
    store_url: str,
) -> None:
    with logged._engine.begin() as conn:
        rewrite_chain(conn, keep=4)
    unguarded = open_store(store_url)  # no checkpoint: the shorter chain is self-consistent
    try:
        assert unguarded.audit_verify(None).ok
    finally:
        unguarded.close()
    fresh = logged.audit_verify(checkpoint_path.with_name("absent.json"))
    assert "checkpoint unusable" in fresh.problems[0]
    found = problems(logged, checkpoint_path)
    assert "expected at least 6 records, the log has 4 (the log was truncated)" in found


def test_rewritten_chain_is_detected_only_with_the_checkpoint(
    logged: SqlStore,
    checkpoint_path: Path,
    tmp_path: Path,
) -> None:
    before = logged.audit_verify().head
    with logged._engine.begin() as conn:
        rewrite_chain(conn)
    other = tmp_path / "unrelated" / "cp.json"
    other.parent.mkdir()
    assert logged.audit_checkpoint(other).count == 6
    rewritten = logged.audit_verify(other)
    assert rewritten.ok  # the rewrite is internally consistent
    assert rewritten.head != before
    assert "(the log was rewritten)" in problems(logged, checkpoint_path)


def test_checkpoint_file_contents(logged: SqlStore, checkpoint_path: Path) -> None:
    saved = json.loads(checkpoint_path.read_text())
    assert saved["count"] == 6
    assert saved["head"] == logged.audit_verify().head
