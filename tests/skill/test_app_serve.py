"""``askfirst serve`` refuses bad arguments and bad settings before starting anything."""

from __future__ import annotations

import pytest

from askfirst.skill.api.serve import ServeOptions
from askfirst.skill.cli.main import main


def test_bad_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "99999"]) == 2
    assert "--port" in capsys.readouterr().err


def test_bad_setting_is_named_before_any_worker_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ASKFIRST_STORE_URL", "mysql://db/askfirst")
    assert main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "store_url" in err and "mysql://db/askfirst" in err


def test_gunicorn_runs_threaded_workers_that_load_the_app_after_the_fork() -> None:
    config = ServeOptions(host="127.0.0.1", port=8123, workers=3, threads=5).gunicorn_config()
    assert config["bind"] == "127.0.0.1:8123"
    assert (config["workers"], config["threads"]) == (3, 5)
    assert config["worker_class"] == "askfirst.skill.api.protocol_errors.JsonErrorWorker"
    assert config["preload_app"] is False
