"""The store at scale: the duplicate check uses an index (a migration adds it to old stores),
decisions leave the index after their retention while their audit records stay, and no
statement a turn runs reads more rows as the tables grow (schema version 7)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from askfirst.store.base import open_store
from askfirst.store.errors import BadValueError
from askfirst.store.schema import MIGRATIONS, audit_log, decisions, schema_version
from askfirst.store.sql import SqlStore
from askfirst.store.turn import USER_STATE
from tests.store.builders import NOW, consent, decision, utterance
from tests.store.old_store import write_old_store


def indexes(store: SqlStore, table: str = "decisions") -> set[str]:
    with store._engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.execute(text(f"PRAGMA index_list('{table}')")).all()
            return {str(r[1]) for r in rows}
        rows = conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = :t AND schemaname = "
                "current_schema()"
            ),
            {"t": table},
        ).all()
        return {str(r[0]) for r in rows}


def plan(store: SqlStore, sql: str, params: dict[str, object]) -> str:
    """The query plan of ``sql`` (``:name`` parameters) as one line."""
    with store._engine.connect() as conn:
        if store.dialect == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params).all()
            return " | ".join(str(r[-1]) for r in rows)
        rows = conn.execute(text(f"EXPLAIN {sql}"), params).all()
        return " | ".join(str(r[0]) for r in rows)


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


def fill_decisions(store: SqlStore, *, rows: int, at: str, user: str, first: int = 0) -> None:
    """Index rows (not a chain: a plan test) of ``user`` ('{n}' for a user per row), by SQL."""
    with store._engine.begin() as conn:
        conn.execute(
            decisions.insert(),
            [
                {
                    "id": f"fill-{first + n}",
                    "shard": 999,
                    "seq": first + n,
                    "user_id": user.format(n=n),
                    "session_id": "old",
                    "utterance_id": f"fill-u{first + n}",
                    "at": at,
                    "permit": True,
                    "has_offer": True,
                }
                for n in range(rows)
            ],
        )


def test_the_daily_cap_counts_only_the_users_own_decisions(store: SqlStore) -> None:
    """The count of a user's permits today reads that user's index range, however many other
    decisions were made today. Before version 7 an index on ``at`` alone matched the count's
    ``at >= midnight`` too, and PostgreSQL, whose statistics never hold today's rows yet (a big
    table is analysed every 10% of changes), walked every decision made today by anyone."""
    fill_decisions(store, rows=3000, at="2024-05-01T10:00:00.000000+00:00", user="user-{n}")
    with store._engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    fill_decisions(
        store, rows=500, at="2024-05-17T09:00:00.000000+00:00", user="other-{n}", first=5000
    )
    today = USER_STATE.sqlite.split("UNION ALL")[2]  # SELECT 2, count(*) ... at >= :midnight
    found = plan(
        store,
        today,
        {"user": "user-7", "midnight": "2024-05-17T00:00:00.000000+00:00", "yes": True},
    )
    assert "decisions_user_at" in found, found
    assert "decisions_at" not in found.replace("decisions_user_at", ""), found


def test_retention_and_capture_prints_read_indexes(store: SqlStore) -> None:
    """The purge finds old decisions by day; noting and answering a capture find its prints by
    device and utterance (each was a full scan of its table before version 7)."""
    fill_decisions(store, rows=3000, at="2024-05-01T10:00:00.000000+00:00", user="user-{n}")
    with store._engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    purge = plan(
        store,
        "DELETE FROM decisions WHERE substr(decisions.at, 1, 10) < :day",
        {"day": "2024-02-17"},
    )
    assert "decisions_day" in purge, purge
    prints = plan(
        store,
        "SELECT id, answered FROM capture_prints WHERE device_id = :d AND utterance_id = :u",
        {"d": "dev-1", "u": "u1"},
    )
    if store.dialect == "sqlite":  # PostgreSQL scans a table this small, as it should
        assert "capture_prints_device_utterance" in prints, prints
    assert "capture_prints_device_utterance" in indexes(store, "capture_prints")


def test_a_version_6_store_is_migrated_to_the_indexes_of_version_7(store_url: str) -> None:
    """The previous version's indexes (``decisions_at``, none on a capture's prints) become
    version 7's; the records stay and verify."""
    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.record(utterance=utterance("u1"), decision=decision("d1"), consent=consent())
    with store._engine.begin() as conn:  # back to version 6's shape
        conn.execute(text("DROP INDEX decisions_day"))
        conn.execute(text("DROP INDEX capture_prints_device_utterance"))
        conn.execute(text("CREATE INDEX decisions_at ON decisions (at)"))
        conn.execute(schema_version.update().values(version=6))
    assert "decisions_at" in indexes(store)
    store.close()

    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    try:
        with store._engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version)).scalar_one() == 7
        assert {"decisions_day", "decisions_user_at"} <= indexes(store)
        assert "decisions_at" not in indexes(store)
        assert "capture_prints_device_utterance" in indexes(store, "capture_prints")
        assert store.decision_for("u1") == "d1"
        report = store.audit_verify()
        assert report.ok, report.problems
    finally:
        store.close()
