"""The recognizer pool's bookkeeping, with plain objects standing in for recognizers."""

from __future__ import annotations

import pytest

from askfirst.speech.errors import SpeechError
from askfirst.speech.pool import RecognizerPool


class Made:
    """A stand-in recognizer that remembers its key."""

    def __init__(self, key: int) -> None:
        self.key = key


def test_reuses_idle_and_keeps_at_most_size_per_key() -> None:
    pool: RecognizerPool[int, Made] = RecognizerPool(Made, size=2)
    a, b, c = pool.acquire(16000), pool.acquire(16000), pool.acquire(16000)
    assert len({id(a), id(b), id(c)}) == 3
    for rec in (a, b, c):
        pool.release(16000, rec)
    stats = pool.stats()
    assert (stats.created, stats.idle, stats.checked_out) == (3, 2, 0)
    again = pool.acquire(16000)
    assert again in (b, c) and pool.stats().created == 3
    assert pool.acquire(8000).key == 8000


def test_broken_recognizers_are_dropped_and_closing_empties() -> None:
    pool: RecognizerPool[int, Made] = RecognizerPool(Made, size=2)
    rec = pool.acquire(1)
    pool.release(1, rec, reusable=False)
    assert pool.stats().idle == 0
    pool.release(1, pool.acquire(1))
    pool.close()
    assert pool.stats().idle == 0
    with pytest.raises(SpeechError):
        pool.acquire(1)


def test_keys_beyond_the_limit_evict_the_oldest() -> None:
    pool: RecognizerPool[int, Made] = RecognizerPool(Made, size=1, max_keys=2)
    for key in (1, 2, 3):
        pool.release(key, pool.acquire(key))
    assert pool.stats().keys == 2
    created = pool.stats().created
    pool.acquire(1)
    assert pool.stats().created == created + 1


def test_failed_factory_is_not_counted_out() -> None:
    def broken(key: int) -> Made:
        raise SpeechError(f"expected a recognizer, got none for {key!r}")

    pool: RecognizerPool[int, Made] = RecognizerPool(broken, size=1)
    with pytest.raises(SpeechError):
        pool.acquire(1)
    assert pool.stats().checked_out == 0


@pytest.mark.parametrize("size", [0, -1, True])
def test_bad_size_is_refused(size: int) -> None:
    with pytest.raises(SpeechError) as info:
        RecognizerPool(Made, size=size)
    assert repr(size) in info.value.message
