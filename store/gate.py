"""The SQLite writer gate: write transactions queue here instead of in SQLite's busy handler.

SQLite has one write lock per database. A connection that finds it taken sleeps in SQLite's busy
handler, which backs off in steps of up to 100 ms and so leaves the lock idle while writers
sleep: under load, throughput collapses and p99 latency reaches seconds. The gate makes writers
wait where they wake at once when the lock frees:

* threads of one process queue on a ``threading.Lock``;
* the one thread per process that passes then takes an exclusive ``flock`` on a lock file next
  to the database (``FILE-writer.lock``), which the kernel hands to the next process the moment
  it is released (and releases itself when a process dies, even by SIGKILL).

Only then does the transaction's ``BEGIN IMMEDIATE`` ask SQLite for its lock, which it then
almost always finds free. The gate is for speed only: correctness still rests on SQLite's own
lock (other programs that write the file without the gate are serialised by it as before).
Every wait is bounded by the store's lock timeout, after which the write fails closed
(StoreUnavailable).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from askfirst.store.errors import StoreUnavailable

logger = logging.getLogger(__name__)


class _FileLock:
    """An exclusive flock whose wait can time out: a blocked ``flock`` runs on a helper thread.

    A wait that timed out is abandoned: if the lock arrives later the helper releases it at once,
    unless a newer caller has adopted the pending wait in the meantime.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._state = threading.Condition()
        self._waiting = False
        self._granted = False
        self._abandoned = False

    def acquire(self, timeout: float) -> bool:
        with self._state:
            if not self._waiting:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pass
                else:
                    return True
                self._waiting, self._granted = True, False
                threading.Thread(
                    target=self._wait, name="askfirst-writer-lock", daemon=True
                ).start()
            self._abandoned = False
            if self._state.wait_for(lambda: self._granted, timeout):
                self._waiting = self._granted = False
                return True
            self._abandoned = True
            return False

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _wait(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        with self._state:
            if self._abandoned:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._waiting = False
            else:
                self._granted = True
                self._state.notify_all()

    def close(self) -> None:
        os.close(self._fd)


class WriterGate:
    """One writer at a time per database: first per process (``enter``), then across processes
    (``lock_file``, when there is a lock file). Both waits are bounded; a timeout raises
    StoreUnavailable."""

    def __init__(self, lock_path: Path | None) -> None:
        self._lock_path = lock_path
        self._threads = threading.Lock()
        self._file = None if lock_path is None else _FileLock(lock_path)
        self._count = threading.Lock()
        self._queued = 0

    @property
    def queued(self) -> int:
        """Threads of this process waiting in ``enter`` right now."""
        return self._queued

    def enter(self, *, timeout: float) -> None:
        with self._count:
            self._queued += 1
        try:
            entered = self._threads.acquire(timeout=timeout)
        finally:
            with self._count:
                self._queued -= 1
        if not entered:
            raise StoreUnavailable(
                f"writing: expected the database's write turn within {timeout:g} s, "
                "got it still held by another thread of this process"
            )

    def try_enter(self) -> bool:
        return self._threads.acquire(blocking=False)

    def leave(self) -> None:
        self._threads.release()

    def lock_file(self, *, timeout: float) -> None:
        """Call between ``enter`` and ``leave``."""
        if self._file is not None and not self._file.acquire(timeout):
            raise StoreUnavailable(
                f"writing: expected the database's write turn within {timeout:g} s, "
                f"got {str(self._lock_path)!r} still locked by another process"
            )

    def unlock_file(self) -> None:
        if self._file is not None:
            self._file.release()

    @contextmanager
    def hold(self, *, timeout: float) -> Iterator[None]:
        """Both locks for one write transaction."""
        self.enter(timeout=timeout)
        try:
            self.lock_file(timeout=timeout)
            try:
                yield
            finally:
                self.unlock_file()
        finally:
            self.leave()

    def _after_fork(self) -> None:
        # A child must not share the parent's flock (it belongs to the open file description,
        # which fork shares) nor a thread lock some parent thread held at the fork.
        if self._file is not None and self._lock_path is not None:
            self._file.close()
            self._file = _FileLock(self._lock_path)
        self._threads = threading.Lock()
        self._count = threading.Lock()
        self._queued = 0
