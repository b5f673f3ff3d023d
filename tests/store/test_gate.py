"""The SQLite writer gate: a writer lock held elsewhere fails closed in time, an abandoned wait
never keeps the lock, and waiting writers get through once it is released."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from askfirst.store.base import open_store
from askfirst.store.errors import StoreUnavailable
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance


@contextmanager
def foreign_writer_lock(db: Path) -> Iterator[int]:
    """The gate's lock file, held through a descriptor of its own (as another process would)."""
    fd = os.open(f"{db}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def record(store: SqlStore, n: int) -> None:
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.record(
            utterance=utterance(f"u{n}"),
            decision=decision(f"d{n}", utterance_id=f"u{n}"),
            consent=consent(),
        )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{db}", lock_timeout=0.3)
    assert isinstance(opened, SqlStore)
    try:
        yield opened
    finally:
        opened.close()


def test_the_lock_file_sits_next_to_the_database(store: SqlStore, db: Path) -> None:
    record(store, 1)
    assert Path(f"{db}-writer.lock").exists()


def test_a_writer_lock_held_elsewhere_fails_closed_within_the_timeout(
    store: SqlStore, db: Path
) -> None:
    with foreign_writer_lock(db):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="still locked by another process"):
            record(store, 1)
        assert time.monotonic() - started < 2.0
    assert store.get_decision("d1") is None
    record(store, 2)  # released: the next write goes through
    assert store.get_decision("d2") is not None


def test_an_abandoned_wait_releases_the_lock_when_it_arrives(store: SqlStore, db: Path) -> None:
    with foreign_writer_lock(db), pytest.raises(StoreUnavailable):
        record(store, 1)
    # The gate's helper gets the lock once it is released, sees the wait was abandoned and
    # gives it back: a third party can take it.
    fd = os.open(f"{db}-writer.lock", os.O_RDWR)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "the abandoned wait kept the writer lock"
                time.sleep(0.01)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def test_a_writer_waiting_on_the_lock_proceeds_when_it_is_released(
    store: SqlStore, db: Path
) -> None:
    slow = open_store(f"sqlite:///{db}", lock_timeout=5.0)
    assert isinstance(slow, SqlStore)
    try:
        with foreign_writer_lock(db) as fd:
            writer = threading.Thread(target=record, args=(slow, 1))
            writer.start()
            time.sleep(0.2)
            assert slow.get_decision("d1") is None  # still waiting
            fcntl.flock(fd, fcntl.LOCK_UN)
            writer.join(timeout=5)
        assert slow.get_decision("d1") is not None
    finally:
        slow.close()
