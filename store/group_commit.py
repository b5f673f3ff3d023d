"""Group commit: writers that queue at the same moment share one COMMIT, so one fsync makes
several turns durable (SQLite, and PostgreSQL, where the chain head's lock otherwise makes every
append wait for the previous append's commit to reach the disk).

Each write transaction (a turn, a window, a consent change) runs in a SAVEPOINT of one shared
SQLite transaction that the threads of a process extend one at a time, in the writer gate's
order. A thread whose block ends while others are queued leaves the transaction open for them
and waits; the last one (or the one that fills the batch) commits and wakes the rest. Nobody
returns before the COMMIT that made its writes durable, so "leaving the block commits" still
holds, and a SIGKILL loses only writes nobody was told about. A failed COMMIT fails every member
closed (StoreUnavailable); a member whose own block raised has its savepoint rolled back and the
others are unaffected. Each member reads the writes of those before it, so caps and the audit
chain see one serial order, as with one transaction per write.

Batches of different processes are serialised by an exclusive lock taken when a batch begins:
SQLite's writer gate file lock (see ``store.gate``), and on PostgreSQL a transaction-level
advisory lock per audit shard, so members never wait for each other's user or chain locks across
batches (which could deadlock) and per-user caps see every committed write. A user's writes all
go to the user's shard; shards commit in parallel.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from askfirst.store.engine import lock_key
from askfirst.store.errors import StoreError, StoreUnavailable
from askfirst.store.gate import WriterGate
from askfirst.store.statements import Sql, run

logger = logging.getLogger(__name__)

MAX_BATCH = 16
"""Writes per COMMIT at most, so a busy process also lets other processes take their turn."""
_POLL = 0.05
"""How often a waiting member checks that its batch still has someone to commit it."""


@dataclass
class _Batch:
    """One open SQLite transaction and the writes that joined it (guarded by the gate)."""

    engine: Engine
    conn: Connection
    members: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    """Why the batch did not commit; every member fails closed with it."""


class GroupCommit:
    """The write path of one SQLite file in this process, shared by every store open on it."""

    def __init__(
        self, gate: WriterGate, *, after_begin: Callable[[Connection], None] | None = None
    ) -> None:
        self.gate = gate
        self._after_begin = after_begin
        self._batch: _Batch | None = None
        _ALL.add(self)

    @contextmanager
    def write(self, engine: Engine, *, timeout: float) -> Iterator[Connection]:
        """A connection inside the shared transaction; returns once the write is durable."""
        self.gate.enter(timeout=timeout)
        try:
            batch, first = self._join(engine, timeout)
        except BaseException:
            self.gate.leave()
            raise
        ok = False
        try:
            yield batch.conn
            ok = True
        finally:
            self._finish(batch, ok=ok, first=first, timeout=timeout)

    def _join(self, engine: Engine, timeout: float) -> tuple[_Batch, bool]:
        """The open batch (or a new one) and whether this write is its first, which needs no
        savepoint: nothing else is in the transaction yet, so a failure rolls all of it back."""
        batch = self._batch
        if batch is not None and batch.engine is not engine:
            self._commit(batch)  # another store's connection: close its batch first
            batch = None
        if batch is None:
            self.gate.lock_file(timeout=timeout)
            try:
                conn = engine.connect()
                try:
                    conn.begin()
                    if self._after_begin is not None:
                        self._after_begin(conn)
                except BaseException:
                    conn.close()
                    raise
            except SQLAlchemyError as e:
                self.gate.unlock_file()
                raise StoreUnavailable(f"writing: the database is unavailable: {e}") from e
            except BaseException:
                self.gate.unlock_file()
                raise
            batch = self._batch = _Batch(engine=engine, conn=conn)
        first = batch.members == 0
        if not first:
            try:
                run(batch.conn, SAVEPOINT, {}, what="starting a write")
            except StoreError as e:
                self._fail(batch, e.message)
                self._commit(batch)
                raise
        batch.members += 1
        return batch, first

    def _finish(self, batch: _Batch, *, ok: bool, first: bool, timeout: float) -> None:
        """End one member: keep or undo its writes, then commit or hand the batch on, and wait."""
        try:
            if first and not ok:
                batch.error = "its only write failed"  # roll the whole transaction back
            elif batch.error is None and not first:
                try:
                    if not ok:
                        run(batch.conn, ROLLBACK_TO_SAVEPOINT, {}, what="undoing a write")
                    run(batch.conn, RELEASE_SAVEPOINT, {}, what="ending a write")
                except StoreError as e:
                    self._fail(batch, e.message)
            last = batch.error is not None or batch.members >= MAX_BATCH or not self.gate.queued
            if last:
                self._commit(batch)
        finally:
            self.gate.leave()
        deadline = time.monotonic() + 2 * timeout + 1
        while not batch.done.wait(_POLL):
            # Normally a queued thread joins and commits; if it gave up, commit ourselves.
            if self.gate.try_enter():
                try:
                    if self._batch is batch:
                        self._commit(batch)
                finally:
                    self.gate.leave()
            elif time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"writing: expected the shared commit within {2 * timeout + 1:g} s, got none "
                    "(the write may or may not be kept)"
                )
        if batch.error is not None and ok:
            raise StoreUnavailable(f"writing: the database is unavailable: {batch.error}")

    def _fail(self, batch: _Batch, why: str) -> None:
        logger.warning("store: a shared write transaction failed: %s", why)
        batch.error = why

    def _commit(self, batch: _Batch) -> None:
        """COMMIT (or roll back a failed batch), release the file lock, wake the members.
        Call holding the gate."""
        try:
            if batch.error is None and not _usable(batch.conn):
                # SQLite rolls a transaction back by itself on some errors (disk full, I/O);
                # PostgreSQL would turn the COMMIT of a failed transaction into a rollback.
                self._fail(batch, "the database ended or aborted the transaction")
            if batch.error is None:
                batch.conn.commit()
            else:
                batch.conn.rollback()
        except SQLAlchemyError as e:
            if batch.error is None:
                self._fail(batch, f"{e}")
        finally:
            try:
                batch.conn.close()
            finally:
                self._batch = None
                self.gate.unlock_file()
                batch.done.set()

    def _after_fork(self) -> None:
        self.gate._after_fork()
        self._batch = None


def _usable(conn: Connection) -> bool:
    """Whether the connection's transaction is still open and can commit."""
    dbapi: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        return bool(dbapi.info.transaction_status == 2)  # psycopg.pq.TransactionStatus.INTRANS
    return bool(dbapi.in_transaction)


_ALL: weakref.WeakSet[GroupCommit] = weakref.WeakSet()


class _Registry:
    """The write paths of this process, by database file."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writers: dict[str, GroupCommit] = {}

    def after_fork(self) -> None:
        self.lock = threading.Lock()
        for writer in list(_ALL):
            writer._after_fork()


_REGISTRY = _Registry()
os.register_at_fork(after_in_child=_REGISTRY.after_fork)


def sqlite_group_commit(database: str) -> GroupCommit:
    """The process-wide write path of a SQLite file; StoreUnavailable when its lock file (next
    to the database, ``FILE-writer.lock``) cannot be created."""
    key = os.path.realpath(database)
    with _REGISTRY.lock:
        writer = _REGISTRY.writers.get(key)
        if writer is None:
            try:
                gate = WriterGate(Path(f"{key}-writer.lock"))
                writer = _REGISTRY.writers[key] = GroupCommit(gate)
            except OSError as e:
                raise StoreUnavailable(
                    f"opening the store: cannot create the writer lock file next to {key!r}: {e}"
                ) from e
        return writer


SAVEPOINT = Sql.of("SAVEPOINT askfirst_write")
ROLLBACK_TO_SAVEPOINT = Sql.of("ROLLBACK TO SAVEPOINT askfirst_write")
RELEASE_SAVEPOINT = Sql.of("RELEASE SAVEPOINT askfirst_write")
LOCK_BATCHES = Sql.of("SELECT 1", postgresql="SELECT pg_advisory_xact_lock(:k)")


def batch_key(shard: int) -> int:
    """The advisory lock that serialises one shard's batches across processes."""
    return lock_key("writer", "batch" if shard == 0 else f"batch:{shard}")


def postgresql_group_commit(shard: int = 0) -> GroupCommit:
    """A write path for one shard of a PostgreSQL store: its threads share commits; batches of
    every process (and store) writing that shard serialise on the shard's advisory lock, held
    until each batch commits. Batches of different shards run side by side."""
    key = batch_key(shard)

    def lock_batches(conn: Connection) -> None:
        run(conn, LOCK_BATCHES, {"k": key}, what="waiting for the write turn")

    return GroupCommit(WriterGate(None), after_begin=lock_batches)
