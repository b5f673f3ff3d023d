"""A stand-alone ``/metrics`` server for a process without the web app (``askfirst wyoming``).

prometheus_client's own WSGI server on a daemon thread, serving one registry; the recogniser
pool gauges are read afresh on every scrape, as the web app's ``/metrics`` does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client.exposition import start_wsgi_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from askfirst.skill.metrics.observer import MetricsObserver
from askfirst.skill.metrics.registry import Metrics

logger = logging.getLogger(__name__)


class _Scrape(Collector):
    """The registry's metrics, with the pool gauges brought up to date first."""

    def __init__(
        self, metrics: Metrics, observer: MetricsObserver, locales: Callable[[], Iterable[str]]
    ) -> None:
        self._metrics = metrics
        self._observer = observer
        self._locales = locales

    def collect(self) -> Iterable[Metric]:
        for locale in self._locales():
            self._observer.update_pool(locale)
        return self._metrics.registry.collect()


@dataclass
class Exporter:
    """A running metrics server."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose when asked for 0)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_exporter(
    metrics: Metrics,
    observer: MetricsObserver,
    *,
    host: str,
    port: int,
    locales: Callable[[], Iterable[str]] = tuple,
) -> Exporter:
    """Serve ``metrics`` at ``http://HOST:PORT/metrics``; OSError when the port is taken."""
    server, thread = start_wsgi_server(
        port, addr=host, registry=_Scrape(metrics, observer, locales)
    )
    exporter = Exporter(server, thread)
    logger.info("metrics: serving Prometheus metrics on http://%s:%d/metrics", host, exporter.port)
    return exporter
