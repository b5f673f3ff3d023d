"""The store at scale: the duplicate check uses an index (a migration adds it to old stores), and
decisions leave the index after their retention while their audit records stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from askfirst.store.base import open_store
from askfirst.store.errors import BadValueError
from askfirst.store.schema import MIGRATIONS, audit_log, decisions, schema_version
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance
from tests.store.old_store import write_old_store


def indexes(store: SqlStore) -> set[str]:
    with store._engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.execute(text("PRAGMA index_list('decisions')")).all()
            return {str(r[1]) for r in rows}
        rows = conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = 'decisions'")
        ).all()
        return {str(r[0]) for r in rows}


def test_the_duplicate_check_reads_an_index(store: SqlStore) -> None:
    assert "decisions_utterance" in indexes(store)
    if store.dialect == "sqlite":
        with store._engine.connect() as conn:
            plan = conn.execute(
                text("EXPLAIN QUERY PLAN SELECT id FROM decisions WHERE utterance_id = 'u1'")
            ).all()
        assert "USING INDEX decisions_utterance" in " ".join(str(r[-1]) for r in plan)


def test_an_old_store_is_migrated_keeping_its_chain(store_url: str) -> None:
    """Version 1 (one chain, no index on utterance_id) to the newest: the old log becomes shard
    0 with every record's seq and hash kept, and verifies; new records go to their shards."""
    write_old_store(store_url, decisions=3, user="alice")
    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    try:
        assert "decisions_utterance" in indexes(store)
        with store._engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version)).scalar_one() == MIGRATIONS[-1][0]
            kept = conn.execute(
                select(audit_log.c.shard, audit_log.c.seq).order_by(audit_log.c.seq)
            ).all()
        assert [tuple(r) for r in kept] == [(0, 1), (0, 2), (0, 3)]
        report = store.audit_verify()
        assert report.ok, report.problems
        assert store.decision_for("old-u2") == "old-d2"
        with store.turn(user_id="alice", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance("u9"),
                decision=decision("d9", utterance_id="u9"),
                consent=consent(),
            )
        store.forget_user("alice", reference="T-1")  # erases in shard 0 and in alice's shard
        report = store.audit_verify()
        assert report.ok, report.problems
        assert report.count == 3 + 1 + (1 if store.shard_of("alice") == 0 else 2)
    finally:
        store.close()


def test_decisions_leave_the_index_after_their_retention_and_the_log_keeps_them(
    store_url: str, tmp_path: Path
) -> None:
    store = open_store(store_url, decision_retention=timedelta(days=3))
    assert isinstance(store, SqlStore)
    try:
        for n, days_ago in enumerate((10, 4, 1)):
            when = NOW - timedelta(days=days_ago)
            with store.turn(user_id="user-1", session_id="s1", now=when) as tx:
                tx.record(
                    utterance=utterance(f"u{n}", at=when),
                    decision=decision(f"d{n}", utterance_id=f"u{n}"),
                    consent=consent(),
                )
        store.purge_expired(NOW)
        with store._engine.connect() as conn:
            kept = conn.execute(select(decisions.c.id).order_by(decisions.c.id)).scalars().all()
            logged = conn.execute(select(audit_log.c.decision_id)).scalars().all()
        assert kept == ["d2"]
        assert {"d0", "d1", "d2"} <= set(logged)
        assert store.get_decision("d0") is not None  # explained from its audit record
        report = store.audit_verify()
        assert report.ok, report.problems
    finally:
        store.close()


def test_a_decision_retention_shorter_than_the_daily_cap_is_refused(store_url: str) -> None:
    with pytest.raises(BadValueError, match="decision_retention"):
        open_store(store_url, decision_retention=timedelta(hours=12))
