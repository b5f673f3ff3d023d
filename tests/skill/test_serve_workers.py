"""What every gunicorn worker is given: one broadcast key for the whole server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from askfirst.skill.api.serve import AskfirstApplication, ServeOptions, check_settings
from askfirst.turn.pipeline import Pipeline


def _key(app: Flask) -> str:
    pipeline: Pipeline = app.extensions["askfirst.pipeline"]
    return pipeline.config.broadcast_key.decode()


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("ASKFIRST_BROADCAST_KEY", "ASKFIRST_SETTINGS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASKFIRST_STORE_URL", f"sqlite:///{tmp_path / 'askfirst.db'}")
    yield


@pytest.mark.usefixtures("environment")
def test_workers_share_the_masters_broadcast_key_when_none_is_configured() -> None:
    options = ServeOptions(port=0, workers=2)
    settings = check_settings(None)
    application = AskfirstApplication(options, settings)
    # gunicorn calls load() once in each worker after the fork.
    first, second = application.load(), application.load()
    try:
        assert _key(first) == _key(second) == settings.broadcast_key.get_secret_value()
    finally:
        for app in (first, second):
            app.extensions["askfirst.pipeline"].close()


@pytest.mark.usefixtures("environment")
def test_a_configured_broadcast_key_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASKFIRST_BROADCAST_KEY", "configured-key-" + "0" * 32)
    application = AskfirstApplication(ServeOptions(port=0), check_settings(None))
    app = application.load()
    try:
        assert _key(app) == "configured-key-" + "0" * 32
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_several_instances_without_a_shared_key_are_warned_about(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("ASKFIRST_BROADCAST_KEY", raising=False)
    monkeypatch.setenv("ASKFIRST_STORE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with caplog.at_level("WARNING", logger="askfirst.skill.api.serve"):
        check_settings(None)
    assert "ASKFIRST_BROADCAST_KEY is not set" in caplog.text
    caplog.clear()
    monkeypatch.setenv("ASKFIRST_BROADCAST_KEY", "shared-" + "1" * 32)
    with caplog.at_level("WARNING", logger="askfirst.skill.api.serve"):
        check_settings(None)
    assert "ASKFIRST_BROADCAST_KEY" not in caplog.text
