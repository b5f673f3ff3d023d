"""A real askfirst server on a loopback port, and a scenario played into it over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings, load_settings
from askfirst.skill.simulator.remote import OverHttp
from askfirst.skill.simulator.runner import Report, simulate
from askfirst.skill.simulator.scenario import load_scenario
from askfirst.store.keys import new_audit_key

REPO = Path(__file__).resolve().parents[2]
SHOWCASE = REPO / "examples" / "scenarios" / "showcase.yaml"
DEVICES = ("living-room", "kitchen", "bedroom", "hall", "study")
TOKENS = {f"tok-{device}": device for device in DEVICES}
OPERATOR_TOKEN = "operator-7f3c9e51d2a84b06"


@dataclass
class Live:
    """A served app: its base URL, settings and Flask app."""

    url: str
    settings: Settings
    app: Flask

    def play(self, scenario: Path = SHOWCASE) -> Report:
        """Play ``scenario`` into the server through its device API, as ``simulate --url``."""
        loaded = load_scenario(scenario)
        by_device = {device: token for token, device in TOKENS.items()}
        backend = OverHttp(self.url, by_device, default_token=None)
        try:
            return simulate(loaded, backend, start=datetime.now(UTC))
        finally:
            backend.close()


def _key_file(tmp_path: Path) -> Path:
    """An audit key for the served store, outside its database."""
    path = tmp_path / "audit.key"
    if not path.exists():
        new_audit_key(path)
    return path


def live_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path / 'server.db'}",
        "device_tokens": TOKENS,
        "console_tokens": [OPERATOR_TOKEN],
        "checkpoint_dir": tmp_path / "checkpoints",
        "audit_key_file": _key_file(tmp_path),
        "checkpoint_every": 5,
        "vosk_model": None,
        "vosk_models": {},
    }
    values.update(overrides)
    return load_settings(None, **values)


@contextmanager
def serving(settings: Settings) -> Iterator[Live]:
    """The real app (real SQLite store) served by werkzeug on 127.0.0.1 until the block ends."""
    app = create_app(settings)
    httpd: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(url=f"http://127.0.0.1:{httpd.server_port}", settings=settings, app=app)
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        httpd.server_close()
        app.extensions["askfirst.pipeline"].close()
