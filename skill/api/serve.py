"""Serving the app: gunicorn (worker processes x threads) by default, Flask's server for ``--dev``.

Each gunicorn worker builds its own app after the fork, so every worker loads the speech
models once and shares them across its threads; nothing heavy is loaded in the master.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.logs import LogFormat, gunicorn_log_config
from askfirst.skill.metrics import MULTIPROC_ENV
from askfirst.skill.settings import Settings, load_settings
from askfirst.turn.pipeline import Pipeline

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """How to serve: where, how many worker processes and threads, which settings file."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8
    settings_file: Path | None = None
    timeout: int = 30
    """Seconds a worker may stay silent before gunicorn restarts it."""
    log_level: str = "info"
    log_format: LogFormat = "text"
    """"json": every line gunicorn and askfirst write is one JSON object."""

    def gunicorn_config(self) -> dict[str, Any]:
        config = {
            "bind": f"{self.host}:{self.port}",
            "workers": self.workers,
            "threads": self.threads,
            "worker_class": "askfirst.skill.api.protocol_errors.JsonErrorWorker",
            "timeout": self.timeout,
            "graceful_timeout": 10,
            "keepalive": 5,
            "preload_app": False,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": self.log_level,
            "proc_name": "askfirst",
            "worker_exit": _close_worker_pipeline,
            "child_exit": _forget_worker_metrics,
        }
        if self.log_format == "json":
            config["logconfig_dict"] = gunicorn_log_config(self.log_level)
        return config


def _close_worker_pipeline(server: Any, worker: Any) -> None:
    """gunicorn ``worker_exit`` hook: release this worker's store and models."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        pipeline: Pipeline | None = app.extensions.get("askfirst.pipeline")
        if pipeline is not None:
            pipeline.close()


def _forget_worker_metrics(server: Any, worker: Any) -> None:
    """gunicorn ``child_exit`` hook (in the master): drop a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def prepare_metrics_dir(settings: Settings) -> Path | None:
    """Give the workers a shared, empty ``PROMETHEUS_MULTIPROC_DIR`` before they fork.

    Runs in the master before anything imports prometheus_client, which reads the variable
    when it is first imported. A directory the operator set is emptied of stale files (from a
    previous run, whose counters must not be added to this one's); otherwise a private one
    is made. Returns the directory, or None when metrics are off.
    """
    if not settings.metrics:
        return None
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="askfirst-metrics-"))
        os.environ[MULTIPROC_ENV] = str(directory)
    logger.info("metrics: worker processes share %s", directory)
    return directory


def check_settings(settings_file: Path | None) -> Settings:
    """Load and check the settings and the policy in the master, before any worker starts.

    A bad setting then fails once with a clear message instead of a crash loop of workers.
    """
    settings = load_settings(settings_file)
    load_policy(settings.policy_path)
    if (
        settings.store_url.startswith("postgres")
        and "broadcast_key" not in settings.model_fields_set
    ):
        logger.warning(
            "ASKFIRST_BROADCAST_KEY is not set: this server fingerprints speech with a random key, "
            "so a broadcast heard by devices served by other instances on the same database "
            "will not be matched; set the same key on every instance"
        )
    if (
        settings.console_tokens
        and settings.store_url.startswith("postgres")
        and "console_secret" not in settings.model_fields_set
    ):
        logger.warning(
            "ASKFIRST_CONSOLE_SECRET is not set: console sign-ins are signed with a random key, "
            "so an operator signed in on one instance is signed out on the others; set the same "
            "secret on every instance"
        )
    return settings


class AskfirstApplication(BaseApplication):  # type: ignore[misc]
    """gunicorn's programmatic entry point; ``load`` runs in each worker after the fork."""

    def __init__(self, options: ServeOptions, settings: Settings) -> None:
        self._options = options
        # Every worker must fingerprint speech with the same key, or a broadcast heard by two
        # devices whose requests land on different workers would go unnoticed. When no key is
        # configured, the one the master generated is handed to every worker.
        self._broadcast_key = settings.broadcast_key
        # Likewise a console session signed by one worker must be honoured by the others.
        self._console_secret = settings.console_secret
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.gunicorn_config().items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return create_app(
            load_settings(
                self._options.settings_file,
                broadcast_key=self._broadcast_key,
                console_secret=self._console_secret,
            )
        )


def serve(options: ServeOptions) -> None:
    """Run gunicorn in the foreground until it is stopped (SIGTERM / SIGINT)."""
    settings = check_settings(options.settings_file)
    logger.info(
        "serving on http://%s:%d with %d workers x %d threads",
        options.host,
        options.port,
        options.workers,
        options.threads,
    )
    private = not os.environ.get(MULTIPROC_ENV)
    directory = prepare_metrics_dir(settings)
    try:
        AskfirstApplication(options, settings).run()
    finally:
        if private and directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)


def serve_dev(options: ServeOptions) -> None:
    """Flask's development server: one process, reloader off. Never for production."""
    settings = check_settings(options.settings_file)
    logger.warning(
        "serving with the Flask DEVELOPMENT server; use gunicorn (no --dev) in production"
    )
    app = create_app(settings)
    app.run(host=options.host, port=options.port, threaded=True, use_reloader=False)
