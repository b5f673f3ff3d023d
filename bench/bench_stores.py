"""The databases the benchmarks run against: SQLite (full or normal sync) and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

STORES = ("sqlite-full", "sqlite-normal", "postgresql")


@contextmanager
def store_url(kind: str, folder: Path, pg_dsn: str, pg_options: str = "") -> Iterator[str]:
    """A fresh database for ``kind``; PostgreSQL gets a schema of its own, dropped afterwards
    (``pg_options``: more ``-c name=value`` settings for its sessions)."""
    name = f"{kind}-{uuid.uuid4().hex[:8]}.db"
    if kind == "sqlite-full":
        yield f"sqlite:///{folder / name}"
    elif kind == "sqlite-normal":
        yield f"sqlite:///{folder / name}?synchronous=normal"
    elif kind == "postgresql":
        import psycopg

        schema = f"askfirst_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in pg_dsn else "?"
            options = f"-csearch_path={schema} {pg_options}".strip()
            yield f"{pg_dsn}{sep}options={quote(options)}"
        finally:
            with psycopg.connect(pg_dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    else:
        raise SystemExit(f"--stores: expected some of {list(STORES)!r}, got {kind!r}")
