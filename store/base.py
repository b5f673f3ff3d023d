"""Opening a store: ``open_store`` and the names callers need (the Store interface, its errors)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from askfirst.store.chain import Checkpoint, VerifyReport
from askfirst.store.errors import AmbientTextRefused, StoreError, StoreUnavailable
from askfirst.store.interface import Store, TurnTx
from askfirst.store.schema import DEFAULT_SHARDS
from askfirst.store.sql import DEFAULT_DECISION_RETENTION, SqlStore

__all__ = [
    "AmbientTextRefused",
    "Checkpoint",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TurnTx",
    "VerifyReport",
    "open_store",
]

logger = logging.getLogger(__name__)

DEFAULT_RETENTION = timedelta(days=30)
"""How long prompted transcripts are kept before ``purge_expired`` removes them."""


def open_store(
    url: str,
    *,
    checkpoint_dir: Path | None = None,
    checkpoint_every: int = 1000,
    retention: timedelta = DEFAULT_RETENTION,
    lock_timeout: float = 5.0,
    lazy: bool = False,
    decision_retention: timedelta = DEFAULT_DECISION_RETENTION,
    audit_key: bytes | None = None,
    shards: int = DEFAULT_SHARDS,
    read_only: bool = False,
) -> Store:
    """Open ("sqlite:///FILE" or "postgresql://...") and migrate the schema.

    SQLite commits with ``synchronous=FULL`` (every commit reaches the disk before it returns);
    ``sqlite:///FILE?synchronous=normal`` trades that for speed: in WAL mode a commit then
    survives a crash or SIGKILL of the process but the last commits may be lost on power loss
    or an OS crash (the audit chain stays valid, it only ends earlier).

    Raises StoreUnavailable when the database cannot be reached, BadValueError for a bad URL.
    The audit log is kept as ``shards`` hash chains (fixed when the database is created; a
    user's records all go to one), so writers of different shards do not wait for each other.
    With ``audit_key`` (at least 16 bytes, kept outside the database) every record carries an
    HMAC and ``audit_verify`` refuses records written without the key; ``checkpoint_dir``
    (which needs the key) receives a keyed checkpoint every ``checkpoint_every`` records of a
    shard.

    ``decision_retention`` is how long ``purge_expired`` keeps a decision in the index that caps
    and duplicate checks read (at least two days, rounded up to the end of a UTC day; the audit
    record itself stays).

    With ``lazy=True`` an unreachable database is not an error yet: the store connects and
    migrates on first use, and every use fails closed with StoreUnavailable until it can (a
    server then starts and answers 503 instead of failing to boot).

    With ``read_only=True`` (maintenance commands that only read) the schema is checked, never
    created or migrated, and any write raises ReadOnlyStore.
    """
    return SqlStore(
        url,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        retention=retention,
        lock_timeout=lock_timeout,
        lazy=lazy,
        decision_retention=decision_retention,
        audit_key=audit_key,
        shards=shards,
        read_only=read_only,
    )
