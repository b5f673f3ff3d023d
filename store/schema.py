"""The store's tables (SQLAlchemy Core) and its schema migrations, tracked in ``schema_version``.

Times are kept as fixed-width ISO-8601 UTC text, so they compare and sort the same way on
SQLite and PostgreSQL and hash to the same bytes in the audit chain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
    update,
)

from askfirst.store.chain import GENESIS
from askfirst.store.errors import BadValueError

logger = logging.getLogger(__name__)

metadata = MetaData()

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

users = Table(
    "users",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("child_profile", Boolean, nullable=False, default=False),
    Column("updated_at", Text, nullable=False),
)

declined = Table(
    "declined",
    metadata,
    Column("user_id", Text, primary_key=True),
    Column("offer_id", Text, primary_key=True),
    Column("decision_id", Text),
    Column("at", Text, nullable=False),
)

utterances = Table(
    "utterances",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, index=True),
    Column("session_id", Text),
    Column("device_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("tag", Text, nullable=False),
    Column("tag_reasons", Text, nullable=False),
    Column("text", Text),
    Column("expires_at", Text, nullable=False, index=True),
    CheckConstraint("tag = 'prompted' OR text IS NULL", name="ambient_has_no_text"),
    CheckConstraint("tag IN ('prompted', 'ambient')", name="known_tag"),
)

decisions = Table(  # an index over the log's decision records, for caps and look-ups
    "decisions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("user_id", Text),
    Column("session_id", Text),
    Column("utterance_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("permit", Boolean, nullable=False),
    Column("has_offer", Boolean, nullable=False),
    Index("decisions_user_at", "user_id", "at"),
    Index("decisions_user_session", "user_id", "session_id"),
    Index("decisions_utterance", "utterance_id"),
    Index("decisions_at", "at"),
)

windows = Table(
    "windows",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("id", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

peers = Table(
    "peers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("expires_at", Text, nullable=False, index=True),
    Index("peers_fingerprint_at", "fingerprint", "at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("decision_id", Text, index=True),
    Column("permit", Boolean),
    Column("rule", Text),
    Column("policy_hash", Text),
    Column("hash", Text, nullable=False),
    Column("payload", Text),
    Column("erased_by", BigInteger),
    Column("user_id", Text, index=True),
)
"""Append-only. ``payload`` and ``user_id`` are erasable and stay outside the chained bytes."""

policy_texts = Table(
    "policy_texts",
    metadata,
    Column("hash", Text, primary_key=True),
    Column("text", Text, nullable=False),
    Column("first_at", Text, nullable=False),
    Column("first_decision_id", Text, nullable=False),
)
"""Every policy a decision was made under: its canonical text (whose SHA-256 is ``hash``),
written with the first decision under it. Not personal; never erased."""

chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)
"""One row (id 1): the last record's seq and hash; appends lock it to stay one chain."""


def db_time(moment: datetime, *, field: str = "time") -> str:
    """The stored form of a timezone-aware time: fixed-width ISO-8601 in UTC."""
    if not isinstance(moment, datetime):
        raise BadValueError(
            f"{field}: expected a datetime, got {type(moment).__name__}: {moment!r}"
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadValueError(f"{field}: expected a timezone-aware datetime, got naive {moment!r}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str) -> datetime:
    """The datetime ``db_time`` stored."""
    return datetime.fromisoformat(value)


def _v1(conn: Connection) -> None:
    metadata.create_all(
        conn,
        tables=[users, declined, utterances, decisions, windows, peers, audit_log, chain_head],
    )
    conn.execute(insert(chain_head).values(id=1, seq=0, hash=GENESIS))


def _v2(conn: Connection) -> None:
    """Index the duplicate check (``decisions.utterance_id``) and decision retention (``at``):
    without them both scan the whole table inside the write lock."""
    for index in decisions.indexes:
        if index.name in ("decisions_utterance", "decisions_at"):
            index.create(conn, checkfirst=True)


def _v3(conn: Connection) -> None:
    """Keep the text of every policy a decision was made under (``policy_texts``)."""
    policy_texts.create(conn, checkfirst=True)


MIGRATIONS: tuple[tuple[int, Callable[[Connection], None]], ...] = (
    (1, _v1),
    (2, _v2),
    (3, _v3),
)
"""(version, step) in order; a step runs once, inside the same transaction as its version bump."""


def migrate(conn: Connection) -> int:
    """Bring the schema to the newest version inside the caller's (locked) transaction."""
    if not inspect(conn).has_table("schema_version"):
        metadata.create_all(conn, tables=[schema_version])
        conn.execute(insert(schema_version).values(version=0))
    current = int(conn.execute(select(schema_version.c.version)).scalar_one())
    newest = MIGRATIONS[-1][0]
    if current > newest:
        raise BadValueError(
            f"schema_version: expected at most {newest} (this askfirst), got {current} "
            "(the database was written by a newer askfirst)"
        )
    for version, step in MIGRATIONS:
        if version > current:
            logger.info("store: migrating schema to version %d", version)
            step(conn)
            conn.execute(update(schema_version).values(version=version))
            current = version
    return current


def check_schema(conn: Connection) -> int:
    """The schema version of an existing store opened read-only; never creates or migrates."""
    if not inspect(conn).has_table("schema_version"):
        raise BadValueError(
            "expected an askfirst store, got a database without askfirst's tables "
            "(check the store URL)"
        )
    current = int(conn.execute(select(schema_version.c.version)).scalar_one())
    newest = MIGRATIONS[-1][0]
    if current != newest:
        raise BadValueError(
            f"schema_version: expected {newest} (this askfirst), got {current}; "
            + (
                "start `askfirst serve` on it once to migrate it"
                if current < newest
                else "the database was written by a newer askfirst"
            )
        )
    return current


def lock_migrations(conn: Connection) -> None:
    """Serialise concurrent first opens (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x61736B6669727374})
