"""Counting turns, transcriptions and store calls into :class:`Metrics`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import wraps
from typing import Any

from askfirst.skill.logs import decision_id_var
from askfirst.skill.metrics.registry import Metrics
from askfirst.speech.pool import PoolStats
from askfirst.store.base import Store
from askfirst.store.errors import StoreError
from askfirst.turn.errors import TurnError
from askfirst.turn.observer import TurnObserver
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import TurnResult

BROADCAST_REASON = "broadcast"

PoolLookup = Callable[[str], PoolStats | None]
"""A locale's recogniser pool counters, or None when it has no pool."""


class MetricsObserver(TurnObserver):
    """Counts every decided turn and transcription; notes the decision id for the logs."""

    def __init__(self, metrics: Metrics, *, pool_stats: PoolLookup | None = None) -> None:
        self._m = metrics
        self._pool_stats = pool_stats

    def turn_decided(self, result: TurnResult) -> None:
        decision = result.decided()
        decision_id_var.set(decision.id)
        m = self._m
        tag = result.tag.tag.value
        m.turns.labels(tag=tag).inc()
        for reason in result.tag.reasons:
            m.tag_reasons.labels(tag=tag, reason=reason).inc()
        if BROADCAST_REASON in result.tag.reasons:
            m.broadcast_matches.inc()
        m.decisions.labels(rule=decision.rule).inc()
        if result.offer_permitted and decision.offer is not None:
            m.offers.labels(catalog_id=decision.offer.id).inc()

    def transcribed(self, *, locale: str, audio_seconds: float, seconds: float) -> None:
        if audio_seconds > 0:
            self._m.real_time_factor.labels(locale=locale).observe(seconds / audio_seconds)
        self.update_pool(locale)

    def update_pool(self, locale: str) -> None:
        """Set the pool gauges of ``locale`` from its recogniser pool (when it has one)."""
        stats = None if self._pool_stats is None else self._pool_stats(locale)
        if stats is not None:
            self._m.pool_checked_out.labels(locale=locale).set(stats.checked_out)
            self._m.pool_idle.labels(locale=locale).set(stats.idle)


def watch(pipeline: Pipeline, metrics: Metrics) -> MetricsObserver:
    """Count ``pipeline``'s turns, transcriptions and store calls into ``metrics`` (every
    edge that serves turns: the web app, ``askfirst wyoming``)."""
    observer = MetricsObserver(metrics, pool_stats=lambda locale: pool_stats_of(pipeline, locale))
    instrument_store(pipeline.store, metrics)
    pipeline.observer = observer
    return observer


def pool_stats_of(pipeline: Pipeline, locale: str) -> PoolStats | None:
    """The recogniser pool counters of ``locale``'s transcriber, when it has a pool."""
    try:
        transcriber = pipeline.transcribers.for_locale(locale)
    except TurnError:
        return None
    stats = getattr(transcriber, "pool_stats", None)
    result = stats() if callable(stats) else None
    return result if isinstance(result, PoolStats) else None


UNTIMED = frozenset({"close"})


def instrument_store(store: Store, metrics: Metrics) -> Store:
    """Time every call of ``store``'s interface and count its errors, on this instance.

    ``turn`` is timed from entering the transaction to its commit (or rollback).
    """
    for name in sorted(Store.__abstractmethods__ - UNTIMED):
        method = getattr(store, name)
        timed = (
            _timed_transaction(name, method, metrics)
            if name == "turn"
            else _timed(name, method, metrics)
        )
        setattr(store, name, timed)
    return store


def _timed(name: str, method: Callable[..., Any], metrics: Metrics) -> Callable[..., Any]:
    seconds = metrics.store_seconds.labels(operation=name)

    @wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        except StoreError as exc:
            metrics.store_errors.labels(operation=name, error=type(exc).__name__).inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)

    return call


def _timed_transaction(
    name: str, method: Callable[..., AbstractContextManager[Any]], metrics: Metrics
) -> Callable[..., AbstractContextManager[Any]]:
    seconds = metrics.store_seconds.labels(operation=name)

    @wraps(method)
    @contextmanager
    def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with method(*args, **kwargs) as tx:
                yield tx
        except StoreError as exc:
            metrics.store_errors.labels(operation=name, error=type(exc).__name__).inc()
            raise
        finally:
            seconds.observe(time.perf_counter() - started)

    return call
