"""``/readyz`` within a bounded time, whatever the database is doing.

The checks (models loaded, the store answers, a write commits) run on a helper thread; an answer
not ready within :data:`READY_SECONDS` is "not ready" rather than a hung probe. At most one
check is in flight per process: while a stalled one is still waiting on the database, later
probes wait for that same check instead of piling up threads (and writes) behind it, and a
result is reused for :data:`FRESH_SECONDS`, so a probe flood costs one check a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

READY_SECONDS = 0.9
"""Under the one second an orchestrator's readiness probe is usually given."""
FRESH_SECONDS = 1.0
"""How long a finished check answers for later probes."""


class Readiness:
    """Runs ``check`` with a deadline; one check in flight at a time."""

    def __init__(self, check: Callable[[], dict[str, bool]], *, seconds: float = READY_SECONDS):
        self._check = check
        self._seconds = seconds
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._done = threading.Event()
        self._result: dict[str, bool] | None = None
        self._at = float("-inf")

    def __call__(self) -> dict[str, bool]:
        """The checks' results, or ``{"timely": False}`` when they did not finish in time."""
        with self._lock:
            if self._result is not None and time.monotonic() - self._at < FRESH_SECONDS:
                return {**self._result, "timely": True}
            if self._running is None or not self._running.is_alive():
                self._done = threading.Event()
                self._running = threading.Thread(
                    target=self._run, args=(self._done,), name="askfirst-readyz", daemon=True
                )
                self._running.start()
            done = self._done
        if done.wait(self._seconds):
            with self._lock:
                if self._result is not None:
                    return {**self._result, "timely": True}
        return {"timely": False}

    def _run(self, done: threading.Event) -> None:
        try:
            result: dict[str, bool] | None = self._check()
        except Exception:  # noqa: BLE001 - any failure of a check means "not ready"
            result = None
        with self._lock:
            self._result, self._at = result, time.monotonic()
        done.set()
