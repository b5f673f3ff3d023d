"""``/readyz`` within a bounded time, whatever the database is doing.

The checks (models loaded, the store answers, a write commits) run on a helper thread; an answer
not ready within :data:`READY_SECONDS` is "not ready" rather than a hung probe. At most one
check is in flight per process: while a stalled one is still waiting on the database, later
probes answer at once from that fact instead of piling up threads behind it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

READY_SECONDS = 0.9
"""Under the one second an orchestrator's readiness probe is usually given."""


class Readiness:
    """Runs ``check`` with a deadline; one check in flight at a time."""

    def __init__(self, check: Callable[[], dict[str, bool]], *, seconds: float = READY_SECONDS):
        self._check = check
        self._seconds = seconds
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._result: dict[str, bool] | None = None
        self._done = threading.Event()

    def __call__(self) -> dict[str, bool]:
        """The checks' results, or ``{"timely": False}`` when they did not finish in time."""
        with self._lock:
            if self._running is None or not self._running.is_alive():
                self._done = threading.Event()
                self._running = threading.Thread(
                    target=self._run, args=(self._done,), name="askfirst-readyz", daemon=True
                )
                self._running.start()
            done = self._done
        if done.wait(self._seconds) and self._result is not None:
            return {**self._result, "timely": True}
        return {"timely": False}

    def _run(self, done: threading.Event) -> None:
        try:
            self._result = self._check()
        except Exception:  # noqa: BLE001 - any failure of a check means "not ready"
            self._result = None
        finally:
            done.set()
