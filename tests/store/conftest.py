"""Store fixtures: every store test runs on SQLite (a file in tmp_path) and on PostgreSQL
(a fresh schema per test, selected through search_path, so tests are isolated and parallel-safe)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from askfirst.store.base import open_store
from askfirst.store.sql import SqlStore

PG_DSN = os.environ.get("ASKFIRST_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def pg_schema_url(schema: str) -> str:
    """The DSN with search_path set to ``schema``."""
    sep = "&" if "?" in PG_DSN else "?"
    return f"{PG_DSN}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a schema of their own, dropped afterwards."""
    schema = f"askfirst_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    yield request.getfixturevalue("pg_url")


AUDIT_KEY = b"test audit key, kept outside the db"
"""The audit key the store fixture's records and checkpoints are keyed with."""


@pytest.fixture
def checkpoint_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def store(store_url: str, checkpoint_dir: Path) -> Iterator[SqlStore]:
    opened = open_store(
        store_url, checkpoint_dir=checkpoint_dir, checkpoint_every=5, audit_key=AUDIT_KEY
    )
    assert isinstance(opened, SqlStore)
    try:
        yield opened
    finally:
        opened.close()
