"""Every metric the server exports, in one registry per app (tests build many apps)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from askfirst.skill.metrics import MULTIPROC_ENV

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RTF_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)


class Metrics:
    """The server's metrics; ``render`` gives the exposition text of every process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turns = Counter("askfirst_turns", "Turns decided, by tag.", ["tag"], registry=r)
        self.tag_reasons = Counter(
            "askfirst_tag_reasons",
            "Reason codes of the tags given, by tag.",
            ["tag", "reason"],
            registry=r,
        )
        self.decisions = Counter(
            "askfirst_decisions", "Decisions, by deciding rule.", ["rule"], registry=r
        )
        self.offers = Counter(
            "askfirst_offers", "Offers made, by catalog id.", ["catalog_id"], registry=r
        )
        self.broadcast_matches = Counter(
            "askfirst_broadcast_matches",
            "Utterances tagged ambient because other devices heard the same sound.",
            registry=r,
        )
        self.store_seconds = Histogram(
            "askfirst_store_seconds",
            "Store call latency, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.store_errors = Counter(
            "askfirst_store_errors",
            "Store calls that failed, by operation and error.",
            ["operation", "error"],
            registry=r,
        )
        self.real_time_factor = Histogram(
            "askfirst_recogniser_real_time_factor",
            "Transcription time divided by audio length, by locale.",
            ["locale"],
            buckets=RTF_BUCKETS,
            registry=r,
        )
        self.pool_checked_out = Gauge(
            "askfirst_recogniser_pool_checked_out",
            "Recognisers in use, by locale.",
            ["locale"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.pool_idle = Gauge(
            "askfirst_recogniser_pool_idle",
            "Warm recognisers waiting, by locale.",
            ["locale"],
            multiprocess_mode="livesum",
            registry=r,
        )
        self.wyoming_seconds = Histogram(
            "askfirst_wyoming_seconds",
            "askfirst wyoming answer latency, by step: audio-stop to transcript "
            "(step=transcript), transcript to handled or not-handled (step=handle).",
            ["step"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.http_seconds = Histogram(
            "askfirst_http_request_seconds",
            "HTTP request latency, by route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type; every worker's values under gunicorn."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory:
            merged = CollectorRegistry()
            MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
