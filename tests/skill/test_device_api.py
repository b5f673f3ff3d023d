"""POST /v1/utterances and friends through the real Flask client and a real SQLite store."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.core.devices import Device
from askfirst.policy.config import load_policy
from askfirst.skill.api.app import create_app
from askfirst.skill.api.readiness import FRESH_SECONDS
from askfirst.skill.api.routes import device_for
from askfirst.skill.errors import SkillError
from askfirst.skill.settings import Settings
from askfirst.speech.transcriber import Transcriber
from askfirst.store.base import open_store
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill.conftest import DEVICE_ID, DEVICE_TOKEN, OTHER_TOKEN, auth, make_settings


def now() -> datetime:
    """Now, whole seconds: capture times must be near the server's clock when the test runs
    (a long suite reaches this module minutes after importing it)."""
    return datetime.now(UTC).replace(microsecond=0)


def capture(
    trigger: str = "push_to_talk", *, start: datetime | None = None, seconds: float = 2.0
) -> dict[str, str]:
    start = now() if start is None else start
    return {
        "trigger": trigger,
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=seconds)).isoformat(),
    }


def post(client: FlaskClient, body: Any, *, token: str = DEVICE_TOKEN) -> Any:
    return client.post("/v1/utterances", json=body, headers=auth(token))


def error_of(response: Any) -> dict[str, str]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}
    return dict(body["error"])


def test_prompted_question_gets_a_permitted_offer(client: FlaskClient) -> None:
    response = post(
        client, {"text": "do you have any deals on coffee", "capture": capture(), "user_id": "ann"}
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["tag"] == "prompted"
    assert body["tag_reasons"] == ["push_to_talk"]
    assert body["question"]["kind"] == "deal"
    assert body["decision"]["permit"] is True
    assert body["offer"]["id"] == "coffee-morning-roast"
    assert body["offer"]["disclosure"] == "Sponsored by Morning Roast."


def test_overheard_speech_is_ambient_and_never_an_offer(client: FlaskClient) -> None:
    response = post(client, {"text": "we need more coffee beans", "capture": capture("none")})
    assert response.status_code == 200
    body = response.get_json()
    assert body["tag"] == "ambient"
    assert body["transcript"] == "we need more coffee beans"
    assert body["decision"]["permit"] is False
    assert body["decision"]["rule"] == "R1.prompted"
    assert body["offer"] is None


def test_limit_ad_tracking_denies(client: FlaskClient) -> None:
    body = {"text": "any deals on coffee", "capture": capture(), "limit_ad_tracking": True}
    result = post(client, body).get_json()
    assert result["decision"]["permit"] is False
    assert result["offer"] is None


def test_assistant_asked_opens_a_follow_up_window(client: FlaskClient) -> None:
    start = now()
    asked = client.post(
        "/v1/assistant-asked",
        json={"prompt_ended_at": start.isoformat()},
        headers=auth(),
    )
    assert asked.status_code == 200
    window = asked.get_json()
    assert window["device_id"] == DEVICE_ID
    follow_up = post(
        client,
        {
            "text": "what coffee do you recommend",
            "capture": capture("follow_up", start=start + timedelta(seconds=1)),
        },
    )
    assert follow_up.get_json()["tag_reasons"] == ["follow_up_in_window"]
    # The window is single-use.
    again = post(
        client,
        {
            "text": "what coffee do you recommend",
            "capture": capture("follow_up", start=start + timedelta(seconds=2)),
        },
    )
    assert again.get_json()["tag"] == "ambient"


def test_declined_offer_is_not_offered_again(client: FlaskClient) -> None:
    declined = client.post(
        "/v1/declined", json={"user_id": "bob", "offer_id": "coffee-morning-roast"}, headers=auth()
    )
    assert declined.status_code == 200
    result = post(
        client, {"text": "any deals on coffee", "capture": capture(), "user_id": "bob"}
    ).get_json()
    assert result["decision"]["permit"] is False
    assert result["offer"] is None


@pytest.mark.parametrize(
    ("header", "status", "code"),
    [
        (None, 401, "missing_token"),
        ("Basic dXNlcjpwYXNz", 401, "malformed_token"),
        ("Bearer", 401, "malformed_token"),
        ("Bearer not-a-device-token", 403, "unknown_token"),
    ],
)
def test_authentication(client: FlaskClient, header: str | None, status: int, code: str) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.post(
        "/v1/utterances", json={"text": "hi", "capture": capture()}, headers=headers
    )
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_token_names_the_device() -> None:
    tokens = {DEVICE_TOKEN: Device.alone(DEVICE_ID), OTHER_TOKEN: Device("hall", "flat-12")}
    assert device_for(f"Bearer {OTHER_TOKEN}", tokens) == Device("hall", "flat-12")
    assert device_for(f"bearer  {DEVICE_TOKEN} ", tokens).device_id == DEVICE_ID
    with pytest.raises(SkillError, match="not configured"):
        device_for(f"Bearer {DEVICE_TOKEN}x", tokens)
    with pytest.raises(SkillError) as caught:
        device_for("Bearer anything", {})
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("body", "status", "code", "needle"),
    [
        (lambda: {"capture": capture()}, 422, "missing_field", "text"),
        (lambda: {"text": "hi"}, 422, "missing_field", "capture"),
        (
            lambda: {"text": 5, "capture": capture()},
            422,
            "invalid_field",
            "text: expected a string",
        ),
        (
            lambda: {"text": "hi", "capture": "now"},
            422,
            "invalid_field",
            "capture: expected an object",
        ),
        (
            lambda: {"text": "hi", "capture": {**capture(), "trigger": "clap"}},
            422,
            "invalid_field",
            "capture.trigger",
        ),
        (
            lambda: {"text": "hi", "capture": {"start": now().isoformat()}},
            422,
            "missing_field",
            "capture.trigger",
        ),
        (
            lambda: {"text": "hi", "capture": {**capture(), "start": "2024-05-01T12:00:00"}},
            422,
            "invalid_field",
            "timezone",
        ),
        (
            lambda: {"text": "hi", "capture": capture(seconds=-1)},
            422,
            "invalid_field",
            "capture.end",
        ),
        (
            lambda: {"text": "hi", "capture": capture(), "limit_ad_tracking": "maybe"},
            422,
            "invalid_field",
            "limit_ad_tracking",
        ),
        (
            lambda: {"text": "hi", "capture": capture(), "user_id": ""},
            422,
            "invalid_field",
            "user_id",
        ),
        (lambda: {"text": "hi", "capture": capture(), "locale": "xx-XX"}, 422, None, "xx-XX"),
        (lambda: [1, 2], 400, "malformed_json", "expected a JSON object, got a JSON list"),
    ],
)
def test_bad_fields_name_what_was_expected(
    client: FlaskClient, body: Callable[[], Any], status: int, code: str | None, needle: str
) -> None:
    response = post(client, body())  # built now: a long suite reaches this minutes after import
    assert response.status_code == status
    error = error_of(response)
    if code is not None:
        assert error["code"] == code
    assert needle in error["message"]


def test_malformed_json(client: FlaskClient) -> None:
    response = client.post(
        "/v1/utterances", data=b'{"text": "hi",', content_type="application/json", headers=auth()
    )
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_wrong_content_type(client: FlaskClient) -> None:
    response = client.post(
        "/v1/utterances", data="text=hi", content_type="text/plain", headers=auth()
    )
    assert response.status_code == 415
    message = error_of(response)["message"]
    assert "application/json" in message and "text/plain" in message


def test_oversized_body(tmp_path: Path, ca_files: tuple[Path, Path]) -> None:
    settings = make_settings(tmp_path, ca_files, max_body_bytes=1000)
    app = create_app(settings)
    try:
        client = app.test_client()
        response = post(client, {"text": "x" * 5000, "capture": capture()})
        assert response.status_code == 413
        assert "at most 1000 bytes" in error_of(response)["message"]
        wav = {
            "audio": (io.BytesIO(b"RIFF" + b"\0" * 5000), "a.wav"),
            "capture": json.dumps(capture()),
        }
        multipart = client.post(
            "/v1/utterances", data=wav, headers=auth(), content_type="multipart/form-data"
        )
        assert multipart.status_code == 413
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_bad_audio_is_a_422_with_the_audio_code(client: FlaskClient) -> None:
    data = {
        "audio": (io.BytesIO(b"this is not a wav file"), "a.wav"),
        "capture": json.dumps(capture()),
        "locale": "ko-KR",
    }
    response = client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] != "internal_error"
    assert "RIFF" in error["message"] or "WAV" in error["message"]


def test_multipart_without_audio(client: FlaskClient) -> None:
    data = {"capture": json.dumps(capture()), "text": "hi"}
    response = client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "audio" in error_of(response)["message"]


def test_audio_without_a_model_for_the_locale(client: FlaskClient, korean_wav: bytes) -> None:
    data = {
        "audio": (io.BytesIO(korean_wav), "a.wav"),
        "capture": json.dumps(capture()),
        "locale": "ko-KR",
    }
    response = client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "no_model_for_locale"


@pytest.fixture
def korean_wav() -> bytes:
    return (Path(__file__).parents[1] / "data" / "ko" / "wake_coffee.wav").read_bytes()


def test_unknown_route_and_wrong_method_are_json(client: FlaskClient) -> None:
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404
    assert "/v2/nothing" in error_of(missing)["message"]
    wrong = client.get("/v1/utterances")
    assert wrong.status_code == 405
    assert "expected method POST, got GET" in error_of(wrong)["message"]


def test_openapi_describes_the_api(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert {
        "/v1/utterances",
        "/v1/assistant-asked",
        "/v1/declined",
        "/alexa",
        "/healthz",
        "/readyz",
    } <= set(document["paths"])
    content = document["paths"]["/v1/utterances"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} == set(content)


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (
        200,
        {"ready": True, "models": True, "store": True, "writes": True, "timely": True},
    )


def test_not_ready_while_the_model_loads(settings: Settings, tmp_path: Path) -> None:
    release = threading.Event()

    def slow_loader(path: Path) -> Transcriber:
        release.wait(10)
        raise RuntimeError(f"no model at {path}")

    transcribers = TranscriberSet.loading({"ko-KR": tmp_path}, loader=slow_loader)
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=open_store(f"sqlite:///{tmp_path / 'ready.db'}"),
        transcribers=transcribers,
        config=settings.turn_config(),
    )
    client = create_app(settings, pipeline=pipeline).test_client()
    try:
        response = client.get("/readyz")
        assert (response.status_code, response.get_json()) == (
            503,
            {"ready": False, "models": False, "store": True, "writes": True, "timely": True},
        )
        assert client.get("/healthz").status_code == 200
    finally:
        release.set()
        transcribers.wait(10)
        pipeline.close()


def test_not_ready_while_the_store_does_not_answer(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real outage is exercised end to end in tests/e2e (a cut PostgreSQL connection).
    pipeline = Pipeline(
        policy=load_policy(settings.policy_path),
        store=open_store(f"sqlite:///{tmp_path / 'ready.db'}"),
        transcribers=TranscriberSet(),
        config=settings.turn_config(),
    )
    client = create_app(settings, pipeline=pipeline).test_client()
    try:
        assert client.get("/readyz").status_code == 200
        monkeypatch.setattr(pipeline.store, "ping", lambda: False)
        time.sleep(FRESH_SECONDS)  # the last result answers for this long
        response = client.get("/readyz")
        assert (response.status_code, response.get_json()) == (
            503,
            {"ready": False, "models": True, "store": False, "writes": False, "timely": True},
        )
    finally:
        pipeline.close()


def test_a_retried_utterance_is_a_409_not_a_second_decision(client: FlaskClient) -> None:
    body = {
        "text": "Alexa, do you have any deals on coffee?",
        "capture": {**capture(), "trigger": "push_to_talk"},
        "utterance_id": "retry-me",
    }
    first = client.post("/v1/utterances", json=body, headers=auth())
    assert first.status_code == 200, first.get_data(as_text=True)
    again = client.post("/v1/utterances", json=body, headers=auth())
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "duplicate_utterance"
    assert first.get_json()["decision"]["id"] in error["message"]
