"""Erased words leave the database files: SQLite zeroes deleted pages and truncates the WAL;
PostgreSQL's dead row versions go with the VACUUM that ``forget_user(vacuum=True)`` runs."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import psycopg
import pytest

from askfirst.store.base import open_store
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance
from tests.store.conftest import PG_DSN

SECRET = "what zebra quartz marmalade do you recommend"


def spoken(store: SqlStore, n: int = 40) -> None:
    for i in range(n):
        with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance(f"u{i}", text=f"{SECRET} {i}"),
                decision=decision(f"d{i}", utterance_id=f"u{i}"),
                consent=consent(),
            )


def test_sqlite_forget_leaves_no_words_in_the_file_or_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    assert isinstance(store, SqlStore)
    try:
        spoken(store)
        with sqlite3.connect(db) as conn:  # as SQLite's automatic checkpoint would, later
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert SECRET.encode() in db.read_bytes()
        store.forget_user("user-1")
        files = [db, Path(f"{db}-wal")]
        for f in files:
            if f.exists():
                assert SECRET.encode() not in f.read_bytes(), f.name
        with store._engine.connect() as conn:  # on even where the build's default is off
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    finally:
        store.close()


def raw_pages(schema_url: str, table: str) -> bytes:
    """Every page of ``table`` as stored, dead row versions included (pageinspect)."""
    schema = schema_url.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        name = f'"{schema}".{table}'
        row = conn.execute("SELECT pg_relation_size(%s::regclass) / 8192", (name,)).fetchone()
        assert row is not None
        pages = [
            conn.execute("SELECT get_raw_page(%s, %s)", (name, n)).fetchone()
            for n in range(int(row[0]))
        ]
    return b"".join(bytes(p[0]) for p in pages if p is not None)


def held_back(schema_url: str, table: str) -> bool:
    """Whether VACUUM says dead rows of ``table`` cannot be removed yet (an older snapshot)."""
    schema = schema_url.rsplit("search_path%3D", 1)[1]
    notices: list[str] = []
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
        conn.execute(f'VACUUM (VERBOSE) "{schema}".{table}')
    held = [re.search(r"(\d+) are dead but not yet removable", n) for n in notices]
    return any(m is not None and int(m.group(1)) > 0 for m in held)


@pytest.mark.postgres
@pytest.mark.parametrize("vacuum", [False, True])
def test_postgresql_forget_with_vacuum_removes_dead_row_versions(pg_url: str, vacuum: bool) -> None:
    store = open_store(pg_url)
    assert isinstance(store, SqlStore)
    try:
        spoken(store)
        assert SECRET.encode() in raw_pages(pg_url, "utterances")
        store.forget_user("user-1", vacuum=vacuum)
        left = SECRET.encode() in raw_pages(pg_url, "utterances")
        if not vacuum:
            assert left  # without VACUUM the dead versions still hold the words
            return
        # VACUUM removes a dead row only once no transaction anywhere in the cluster can still
        # see it; another session's open transaction (a shared test server) may hold it back,
        # which VACUUM itself then reports.
        assert not left or held_back(pg_url, "utterances")
    finally:
        store.close()
