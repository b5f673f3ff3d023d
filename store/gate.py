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

from store.errors import StoreUnavailable

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
    """One writer at a time per database file: first per process, then across processes."""

    def __init__(self, database: Path) -> None:
        self._lock_path = Path(f"{database}-writer.lock")
        self._threads = threading.Lock()
        self._file = _FileLock(self._lock_path)

    @contextmanager
    def hold(self, *, timeout: float) -> Iterator[None]:
        """Hold the gate for one write transaction; StoreUnavailable after ``timeout`` seconds."""
        if not self._threads.acquire(timeout=timeout):
            raise StoreUnavailable(
                f"writing: expected the database's write turn within {timeout:g} s, "
                "got it still held by another thread of this process"
            )
        try:
            if not self._file.acquire(timeout):
                raise StoreUnavailable(
                    f"writing: expected the database's write turn within {timeout:g} s, "
                    f"got {str(self._lock_path)!r} still locked by another process"
                )
            try:
                yield
            finally:
                self._file.release()
        finally:
            self._threads.release()

    def _after_fork(self) -> None:
        # A child must not share the parent's flock (it belongs to the open file description,
        # which fork shares) nor a thread lock some parent thread held at the fork.
        self._file.close()
        self._threads = threading.Lock()
        self._file = _FileLock(self._lock_path)


class _Registry:
    """The gates of this process, by database file."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gates: dict[str, WriterGate] = {}

    def after_fork(self) -> None:
        self.lock = threading.Lock()
        for gate in self.gates.values():
            gate._after_fork()


_REGISTRY = _Registry()
os.register_at_fork(after_in_child=_REGISTRY.after_fork)


def writer_gate(database: str) -> WriterGate:
    """The process-wide gate for a SQLite file, shared by every store open on it.

    Raises StoreUnavailable when the lock file cannot be created.
    """
    key = os.path.realpath(database)
    with _REGISTRY.lock:
        gate = _REGISTRY.gates.get(key)
        if gate is None:
            try:
                gate = _REGISTRY.gates[key] = WriterGate(Path(key))
            except OSError as e:
                raise StoreUnavailable(
                    f"opening the store: cannot create the writer lock file next to {key!r}: {e}"
                ) from e
        return gate
