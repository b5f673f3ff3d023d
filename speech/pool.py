"""A thread-safe pool of warm, reusable recognizers, kept per key (sample rate, grammar).

The pool knows nothing of Vosk: it holds opaque objects made by a factory. A checkout never
blocks: when no idle recognizer of a key is left a new one is made, and on return at most
``size`` idle ones per key are kept (the rest are dropped). Recognizers warm up with use, so
reusing them is what makes the pool fast.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from askfirst.speech.errors import SpeechError

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Counters for tests and benchmarks."""

    created: int
    """Recognizers made since the pool was opened."""
    idle: int
    """Recognizers waiting in the pool now, over all keys."""
    checked_out: int
    keys: int


class RecognizerPool(Generic[K, R]):
    """Idle recognizers per key, at most ``size`` per key and ``max_keys`` keys."""

    def __init__(self, factory: Callable[[K], R], *, size: int, max_keys: int = 32) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise SpeechError(f"expected a pool size >= 1, got {size!r}", code="bad_pool_size")
        self._factory = factory
        self.size = size
        self._max_keys = max_keys
        self._idle: OrderedDict[K, list[R]] = OrderedDict()
        self._lock = threading.Lock()
        self._created = 0
        self._out = 0
        self._closed = False

    def acquire(self, key: K) -> R:
        """An idle recognizer for ``key``, or a new one when none is idle."""
        with self._lock:
            if self._closed:
                raise SpeechError(
                    "expected an open transcriber, got one already closed", code="closed"
                )
            idle = self._idle.get(key)
            if idle is not None:
                self._idle.move_to_end(key)
            self._out += 1
            if idle:
                return idle.pop()
            self._created += 1
        try:
            return self._factory(key)  # outside the lock: making one can take a while
        except BaseException:
            with self._lock:
                self._out -= 1
            raise

    def release(self, key: K, recognizer: R, *, reusable: bool = True) -> None:
        """Give back a recognizer that has been finished and reset (or drop it)."""
        with self._lock:
            self._out -= 1
            if not reusable or self._closed:
                return
            idle = self._idle.setdefault(key, [])
            self._idle.move_to_end(key)
            if len(idle) < self.size:
                idle.append(recognizer)
            while len(self._idle) > self._max_keys:
                dropped, _ = self._idle.popitem(last=False)
                logger.debug(
                    "dropping idle recognizers for %r (over %d keys)", dropped, self._max_keys
                )

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(
                created=self._created,
                idle=sum(len(v) for v in self._idle.values()),
                checked_out=self._out,
                keys=len(self._idle),
            )

    def close(self) -> None:
        """Drop every idle recognizer; recognizers still out are dropped when returned."""
        with self._lock:
            self._closed = True
            self._idle.clear()
