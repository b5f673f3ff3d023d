"""``GET /metrics`` and the HTTP latency histogram, hooked into a Flask app."""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request

from askfirst.skill.metrics.registry import Metrics

UNMATCHED = "<unmatched>"
"""The route label of a request no route matched (its path is never a label: it is unbounded)."""


def register(app: Flask, metrics: Metrics) -> None:
    """Add ``/metrics`` and time every request by method, route template and status."""
    app.extensions["askfirst.metrics"] = metrics
    app.before_request(_start)
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])


def _start() -> None:
    g.askfirst_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("askfirst_started")
    if started is not None:
        metrics: Metrics = current_app.extensions["askfirst.metrics"]
        rule = request.url_rule
        metrics.http_seconds.labels(
            method=request.method,
            route=UNMATCHED if rule is None else rule.rule,
            status=str(response.status_code),
        ).observe(time.perf_counter() - started)
    return response


def metrics_view() -> Response:
    """The Prometheus exposition text."""
    metrics: Metrics = current_app.extensions["askfirst.metrics"]
    observer = current_app.extensions.get("askfirst.metrics_observer")
    pipeline = current_app.extensions.get("askfirst.pipeline")
    if observer is not None and pipeline is not None:
        for locale in pipeline.transcribers.locales:
            observer.update_pool(locale)
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
