"""Database connections for both back ends: URL mapping, SQLite pragmas, locks, error mapping."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from askfirst.store.errors import BadValueError, ConflictError, StoreUnavailable
from askfirst.store.statements import Sql, run

logger = logging.getLogger(__name__)

READ_ONLY = "askfirst_read_only"
"""Execution option: on SQLite, begin with a deferred BEGIN instead of BEGIN IMMEDIATE."""


def driver_url(url: str) -> str:
    """The SQLAlchemy URL for an askfirst store URL ("sqlite:///FILE" or "postgresql://...")."""
    if not isinstance(url, str) or not url:
        raise BadValueError(
            f"store url: expected 'sqlite:///FILE' or 'postgresql://...', got {url!r}"
        )
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise BadValueError(
            f"store url: expected 'sqlite:///FILE' or 'postgresql://...', got {url!r}"
        )
    if scheme in ("sqlite", "sqlite+pysqlite"):
        if rest in ("", "/", "/:memory:"):
            raise BadValueError(
                f"store url: expected a database file 'sqlite:///FILE', got {url!r}"
            )
        return f"sqlite+pysqlite://{rest}"
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql+psycopg://{rest}"
    raise BadValueError(
        f"store url: expected scheme 'sqlite' or 'postgresql', got {scheme!r} in {url!r}"
    )


SYNCHRONOUS = ("full", "normal")
"""SQLite ``synchronous`` levels a store URL may ask for (``?synchronous=normal``); FULL is the
default. With WAL, NORMAL skips the fsync at each commit: a commit survives the process being
killed, but the last commits may be lost if the machine loses power or the OS crashes."""


def make_engine(url: str, *, lock_timeout: float) -> Engine:
    """A pooled engine; SQLite in WAL mode with BEGIN IMMEDIATE for write transactions."""
    target = driver_url(url)
    try:
        parsed = make_url(target)
    except ArgumentError as e:
        raise BadValueError(f"store url: could not parse {url!r}: {e}") from e
    synchronous = parsed.query.get("synchronous")
    if parsed.get_backend_name() == "sqlite":
        if synchronous is None:
            synchronous = "full"
        if not isinstance(synchronous, str) or synchronous.lower() not in SYNCHRONOUS:
            raise BadValueError(
                f"store url: expected synchronous to be one of {list(SYNCHRONOUS)!r}, "
                f"got {synchronous!r} in {url!r}"
            )
        return _sqlite_engine(
            parsed.difference_update_query(["synchronous"]),
            lock_timeout=lock_timeout,
            synchronous=synchronous.upper(),
        )
    if synchronous is not None:
        raise BadValueError(
            f"store url: 'synchronous' is a SQLite setting, got it in a PostgreSQL URL {url!r} "
            "(PostgreSQL durability is the server's synchronous_commit)"
        )
    return create_engine(
        parsed.difference_update_query(["options"]),
        pool_pre_ping=True,
        pool_timeout=lock_timeout,
        connect_args=pg_connect_args(parsed.query.get("options"), deadline=lock_timeout),
    )


def pg_connect_args(extra_options: object, *, deadline: float) -> dict[str, Any]:
    """libpq settings that bound every PostgreSQL call by ``deadline`` seconds.

    A stalled server is cut by ``statement_timeout`` and ``lock_timeout``; a frozen link (no
    answer at all, nothing acknowledged) by ``tcp_user_timeout`` and fast keepalives; an
    unreachable host by ``connect_timeout``. Without them a request waited up to 45 s.
    """
    millis = max(1, int(deadline * 1000))
    options = (
        f"-c lock_timeout={millis} -c statement_timeout={millis} "
        "-c idle_in_transaction_session_timeout=60000"
    )
    if isinstance(extra_options, str):
        options = f"{extra_options} {options}"
    return {
        "connect_timeout": max(2, math.ceil(deadline)),  # libpq's minimum is 2 s
        "options": options,
        "tcp_user_timeout": millis,
        "keepalives": 1,
        "keepalives_idle": 1,
        "keepalives_interval": 1,
        "keepalives_count": 2,
    }


def _sqlite_engine(target: URL, *, lock_timeout: float, synchronous: str) -> Engine:
    engine = create_engine(
        target,
        connect_args={"timeout": lock_timeout, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            # Deleted rows (a forgotten user's transcripts) are overwritten with zeros, not left
            # in free pages; ``SqlStore.forget_user`` also checkpoints the WAL that held them.
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute(f"PRAGMA busy_timeout={max(1, int(lock_timeout * 1000))}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def lock_key(kind: str, name: str) -> int:
    """A signed 64-bit advisory-lock key for (kind, name)."""
    raw = hashlib.sha256(f"askfirst:{kind}:{name}".encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


LOCK_USER = Sql.of("SELECT 1", postgresql="SELECT pg_advisory_xact_lock(:k)")


def lock_user(conn: Connection, user_id: str) -> None:
    """Serialise transactions for one user (PostgreSQL advisory lock; SQLite writers are serial)."""
    if conn.dialect.name == "postgresql":
        run(conn, LOCK_USER, {"k": lock_key("user", user_id)}, what="locking the user")


@contextmanager
def db_errors(what: str) -> Iterator[None]:
    """Turn database failures into store errors: constraint clashes to ConflictError, the rest to
    StoreUnavailable (down, full, locked beyond the timeout) so callers fail closed."""
    try:
        yield
    except IntegrityError as e:
        raise ConflictError(f"{what}: the database refused the write: {e.orig}") from e
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        logger.warning("store: %s failed: %s", what, cause)
        raise StoreUnavailable(f"{what}: the database is unavailable: {cause}") from e
