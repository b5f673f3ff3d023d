"""The app factory and POST /alexa: verification on and off, limits, and JSON errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from askfirst.skill.api.app import create_app
from tests.skill import envelopes as env
from tests.skill.ca import TestCA, make_ca, signed_headers
from tests.skill.conftest import Alexa, make_settings, speech_of


def error_code(response: object) -> str:
    body = response.get_json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    return str(body["error"]["code"])


def test_signed_request_is_answered(alexa: Alexa) -> None:
    assert "Welcome" in speech_of(alexa.ask(env.launch_request()))


def test_unsigned_request_is_refused(alexa: Alexa) -> None:
    response = alexa.post(env.launch_request(), signed=False)
    assert response.status_code == 400
    assert error_code(response) == "alexa_verification_failed"
    assert "SignatureCertChainUrl" in response.get_json()["error"]["message"]


def test_tampered_body_is_refused(client: FlaskClient, ca: TestCA) -> None:
    raw = env.encode(env.launch_request())
    headers = signed_headers(raw, ca.leaf_key)
    response = client.post(
        "/alexa", data=raw.replace(b"LaunchRequest", b"IntentRequest"), headers=headers
    )
    assert response.status_code == 400
    assert "Signature-256" in response.get_json()["error"]["message"]


def test_signature_from_an_untrusted_ca_is_refused(client: FlaskClient) -> None:
    other = make_ca(datetime.now(UTC), label="stranger")
    raw = env.encode(env.launch_request())
    response = client.post("/alexa", data=raw, headers=signed_headers(raw, other.leaf_key))
    assert response.status_code == 400


def test_stale_timestamp_is_refused(alexa: Alexa) -> None:
    response = alexa.post(env.launch_request(at=datetime.now(UTC) - timedelta(seconds=300)))
    assert response.status_code == 400
    assert "timestamp" in response.get_json()["error"]["message"]


def test_other_skill_is_refused(alexa: Alexa) -> None:
    response = alexa.post(env.launch_request(skill_id="amzn1.ask.skill.someone-else"))
    assert response.status_code == 400
    assert "amzn1.ask.skill.someone-else" in response.get_json()["error"]["message"]


def test_unknown_request_type_is_a_400(alexa: Alexa) -> None:
    body = env.launch_request()
    body["request"]["type"] = "AudioPlayer.PlaybackStarted"
    response = alexa.post(body)
    assert response.status_code == 400
    assert error_code(response) == "unsupported_request_type"
    assert "LaunchRequest" in response.get_json()["error"]["message"]


def test_wrong_content_type_and_method(client: FlaskClient) -> None:
    response = client.post("/alexa", data=b"{}", content_type="text/plain")
    assert response.status_code == 415
    assert client.get("/alexa").status_code == 405


@pytest.fixture
def unverified(
    tmp_path: Path, ca_files: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> Iterator[Flask]:
    with caplog.at_level(logging.WARNING, logger="askfirst.skill.api.app"):
        app = create_app(make_settings(tmp_path, ca_files, alexa_verify=False))
    yield app
    app.extensions["askfirst.pipeline"].close()


def test_verification_off_warns_at_start_up(
    unverified: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    assert any(
        "VERIFICATION IS OFF" in r.getMessage() and r.levelno == logging.WARNING
        for r in caplog.get_records("setup")
    )


def test_verification_off_still_checks_the_application_id(unverified: Flask, ca: TestCA) -> None:
    alexa = Alexa(unverified.test_client(), ca)
    assert "Welcome" in speech_of(alexa.ask(env.launch_request(), signed=False))
    response = alexa.post(env.launch_request(skill_id="amzn1.ask.skill.other"), signed=False)
    assert response.status_code == 400
    assert error_code(response) == "alexa_verification_failed"


def test_verification_off_malformed_json(unverified: Flask) -> None:
    response = unverified.test_client().post(
        "/alexa", data=b"{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"


def test_verification_off_missing_request(unverified: Flask) -> None:
    response = unverified.test_client().post(
        "/alexa",
        json={"version": "1.0", "session": {"application": {"applicationId": env.SKILL_ID}}},
    )
    assert response.status_code == 400
    assert "request" in response.get_json()["error"]["message"]


def test_oversized_alexa_body(tmp_path: Path, ca_files: tuple[Path, Path]) -> None:
    app = create_app(make_settings(tmp_path, ca_files, max_body_bytes=512))
    try:
        response = app.test_client().post(
            "/alexa", data=b"{" + b" " * 2000 + b"}", content_type="application/json"
        )
        assert response.status_code == 413
        assert error_code(response) == "body_too_large"
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_alexa_disabled_without_a_skill_id(tmp_path: Path, ca_files: tuple[Path, Path]) -> None:
    app = create_app(make_settings(tmp_path, ca_files, alexa_skill_ids=[]))
    try:
        response = app.test_client().post("/alexa", json={})
        assert response.status_code == 404
        assert "ASKFIRST_ALEXA_SKILL_IDS" in response.get_json()["error"]["message"]
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_a_genuine_bug_is_a_json_500_without_a_traceback(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/broken", "broken", broken)
    with caplog.at_level(logging.ERROR, logger="askfirst.skill.api.errors"):
        response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert any(r.exc_info is not None for r in caplog.records)
