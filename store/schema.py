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
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
    update,
)

from askfirst.store.chain import genesis
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
    # Random per utterance: the decision record chains sha256(salt, text), so an edited
    # transcript is detected, and a purged one leaves a digest nobody can test guesses against.
    Column("text_salt", Text),
    # The decision record (shard, seq) that chains this utterance's text digest.
    Column("record_shard", Integer),
    Column("record_seq", BigInteger),
    CheckConstraint("tag = 'prompted' OR text IS NULL", name="ambient_has_no_text"),
    CheckConstraint("tag IN ('prompted', 'ambient')", name="known_tag"),
)

decisions = Table(  # an index over the log's decision records, for caps and look-ups
    "decisions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("shard", Integer, nullable=False, default=0),
    Column("seq", BigInteger, nullable=False),
    Column("user_id", Text),
    Column("session_id", Text),
    Column("utterance_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("permit", Boolean, nullable=False),
    Column("has_offer", Boolean, nullable=False),
    Index("decisions_user_at", "user_id", "at"),
    Index("decisions_user_session", "user_id", "session_id"),
    Index("decisions_utterance", "utterance_id"),
    UniqueConstraint("shard", "seq", name="decisions_shard_seq"),
)
DAY = func.substr(decisions.c.at, literal_column("1"), literal_column("10"))
"""A decision's UTC day ('2026-11-30'): what the retention purge finds old decisions by. The
numbers are literals, not parameters, so the purge's expression is the index's."""
decisions_day = Index("decisions_day", DAY)
"""Retention's index, by day rather than by time: an index on ``at`` alone (versions 2 to 6)
also matched the daily cap's ``at >= midnight``, and PostgreSQL, whose statistics never know
today's rows yet, counted one user's permits by walking every decision made today."""

windows = Table(
    "windows",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("id", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
)

peers_v1 = Table(
    "peers",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("expires_at", Text, nullable=False, index=True),
    Index("peers_fingerprint_at", "fingerprint", "at"),
)
"""Version 1's exact-transcript registry (dropped by version 5; it held seconds of data)."""

peers = Table(
    "capture_prints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("household", Text, nullable=False),
    Column("utterance_id", Text, nullable=False),
    Column("at", Text, nullable=False, index=True),
    Column("text_print", LargeBinary, nullable=False),
    Column("audio_print", LargeBinary, nullable=False),
    Column("level", Float, nullable=True),
    Column("answered", Boolean, nullable=False, default=False),
    Column("expires_at", Text, nullable=False, index=True),
    Column("noted_at", Text, nullable=False),
    Index("capture_prints_device_utterance", "device_id", "utterance_id"),
)
"""Keyed fingerprints of recent captures that could be prompted, kept for seconds (never text)."""

media = Table(
    "known_media",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("added_at", Text, nullable=False),
    Column("text_print", LargeBinary, nullable=False),
    Column("audio_print", LargeBinary, nullable=False),
)
"""Adverts and programmes an operator registered (``askfirst media add``): fingerprints only."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("shard", Integer, primary_key=True, autoincrement=False),
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
    Column("mac", Text),
)
"""Append-only, one chain per shard. ``payload`` and ``user_id`` are erasable and stay outside
the chained bytes (verify checks ``user_id`` against the payload); ``mac`` is the record's HMAC
under the audit key, NULL when written without one."""

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
"""One row per shard (id = the shard): its last record's seq and hash; an append locks its
shard's row, so each shard stays one chain while shards append in parallel."""


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


ALL_TABLES = (
    users,
    declined,
    utterances,
    decisions,
    windows,
    peers,
    media,
    audit_log,
    chain_head,
    policy_texts,
)

DEFAULT_SHARDS = 16
"""Audit chains (and PostgreSQL write paths) of a new store."""


def _create(conn: Connection, shards: int) -> None:
    """A new database: every table in its newest shape, one chain head per shard."""
    metadata.create_all(conn, tables=list(ALL_TABLES))
    _add_heads(conn, range(shards))


def _add_heads(conn: Connection, shards: range) -> None:
    for shard in shards:
        conn.execute(insert(chain_head).values(id=shard, seq=0, hash=genesis(shard)))


def _v2(conn: Connection, shards: int) -> None:
    """Index the duplicate check (``decisions.utterance_id``) and decision retention (``at``):
    without them both scan the whole table inside the write lock."""
    for index in decisions.indexes:
        if index.name == "decisions_utterance":
            index.create(conn, checkfirst=True)
    conn.execute(text("CREATE INDEX IF NOT EXISTS decisions_at ON decisions (at)"))


def _v3(conn: Connection, shards: int) -> None:
    """Keep the text of every policy a decision was made under (``policy_texts``)."""
    policy_texts.create(conn, checkfirst=True)


def _v4(conn: Connection, shards: int) -> None:
    """Shard the audit chain: the existing log becomes shard 0 (its records keep their seq and
    hash); records gain a MAC column, utterances the link to the record chaining their text."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "ALTER TABLE audit_log ADD COLUMN shard INTEGER NOT NULL DEFAULT 0, "
                "ADD COLUMN mac TEXT, DROP CONSTRAINT audit_log_pkey, "
                "ADD PRIMARY KEY (shard, seq)"
            )
        )
        conn.execute(
            text(
                "ALTER TABLE decisions ADD COLUMN shard INTEGER NOT NULL DEFAULT 0, "
                "DROP CONSTRAINT decisions_seq_key, "
                "ADD CONSTRAINT decisions_shard_seq UNIQUE (shard, seq)"
            )
        )
    else:
        _rebuild(conn, audit_log, "shard, mac", "0, NULL")
        _rebuild(conn, decisions, "shard", "0")
    for column in ("record_shard INTEGER", "record_seq BIGINT", "text_salt TEXT"):
        conn.execute(text(f"ALTER TABLE utterances ADD COLUMN {column}"))
    conn.execute(update(chain_head).where(chain_head.c.id == 1).values(id=0))
    _add_heads(conn, range(1, shards))


def _v5(conn: Connection, shards: int) -> None:
    """Tolerant broadcast matching and households: keyed prints (``capture_prints``) replace
    exact transcript HMACs (``peers``, which held seconds of data); known media."""
    peers_v1.drop(conn, checkfirst=True)
    metadata.create_all(conn, tables=[peers, media])


def _v6(conn: Connection, shards: int) -> None:
    """Captures remember when the server first registered them (``noted_at``): the wait for
    peers is counted from it. The table holds seconds of prints, so it is simply recreated."""
    del shards
    peers.drop(conn, checkfirst=True)
    peers.create(conn)


def _v7(conn: Connection, shards: int) -> None:
    """Indexes no turn's cost grows with: retention finds old decisions by day (the index on
    ``at`` alone goes, see ``decisions_day``), and a capture's prints are found by device and
    utterance (noting and answering a capture scanned ``capture_prints``)."""
    conn.execute(text("DROP INDEX IF EXISTS decisions_at"))
    # IF NOT EXISTS, not checkfirst: reflecting an expression index warns (SQLite)
    conn.execute(text("CREATE INDEX IF NOT EXISTS decisions_day ON decisions (substr(at, 1, 10))"))
    conn.execute(
        text(
            "CREATE INDEX IF NOT EXISTS capture_prints_device_utterance "
            "ON capture_prints (device_id, utterance_id)"
        )
    )


def _rebuild(conn: Connection, table: Table, added: str, values: str) -> None:
    """SQLite cannot change a primary key in place: copy the table into its new shape."""
    old = f"{table.name}_before_v4"
    conn.execute(text(f"ALTER TABLE {table.name} RENAME TO {old}"))
    for index in table.indexes:
        conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
    table.create(conn)
    kept = [c.name for c in table.columns if c.name not in {a.strip() for a in added.split(",")}]
    names = ", ".join(kept)
    copy = f"INSERT INTO {table.name} ({names}, {added}) SELECT {names}, {values} FROM {old}"  # noqa: S608 - this module's own names
    conn.execute(text(copy))
    conn.execute(text(f"DROP TABLE {old}"))


MIGRATIONS: tuple[tuple[int, Callable[[Connection, int], None]], ...] = (
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
    (7, _v7),
)
"""(version, step) in order for a database written by an older askfirst; a step runs once,
inside the same transaction as its version bump. A new database is created in the newest shape."""


def migrate(conn: Connection, *, shards: int = DEFAULT_SHARDS) -> int:
    """Bring the schema to the newest version inside the caller's (locked) transaction; a new
    database gets ``shards`` audit chains (an old one keeps its log as shard 0 and gains the
    rest)."""
    newest = MIGRATIONS[-1][0]
    if not inspect(conn).has_table("schema_version"):
        metadata.create_all(conn, tables=[schema_version])
        conn.execute(insert(schema_version).values(version=0))
    current = int(conn.execute(select(schema_version.c.version)).scalar_one())
    if current == 0:
        if not inspect(conn).has_table("audit_log"):
            _create(conn, shards)
            conn.execute(update(schema_version).values(version=newest))
            return newest
        current = 1  # tables of version 1 without their version bump
    if current > newest:
        raise BadValueError(
            f"schema_version: expected at most {newest} (this askfirst), got {current} "
            "(the database was written by a newer askfirst)"
        )
    for version, step in MIGRATIONS:
        if version > current:
            logger.info("store: migrating schema to version %d", version)
            step(conn, shards)
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
        # A migration may wait for another process's and may run long: the per-call deadlines
        # (engine.pg_connect_args) are for turns, not for this one transaction.
        conn.execute(text("SET LOCAL statement_timeout = 0"))
        conn.execute(text("SET LOCAL lock_timeout = '120s'"))
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 0x61736B6669727374})
