"""Request bodies: unknown fields refused, every string bounded, the OpenAPI document generated."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel

from askfirst.core.limits import MAX_ID_BYTES, MAX_TEXT_BYTES
from askfirst.skill.api.bodies import (
    AssistantAskedBody,
    DeclinedBody,
    UtteranceBody,
)
from tests.skill.conftest import auth

ASK = "Alexa, do you have any deals on coffee?"


def now() -> str:
    return datetime.now(UTC).isoformat()


def capture(**fields: Any) -> dict[str, Any]:
    return {"trigger": "push_to_talk", "start": now(), "end": now(), **fields}


def refused(response: Any) -> tuple[int, str, str]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], error["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/utterances", {"text": ASK, "capture": capture(), "limt_ad_tracking": True}, "limt"),
        ("/v1/utterances", {"text": ASK, "capture": capture(extra=1)}, "capture.extra"),
        ("/v1/assistant-asked", {"prompt_ended_at": now(), "device": "bedroom"}, "device"),
        ("/v1/declined", {"offer_id": "tea-green-leaf", "reason": "no"}, "reason"),
    ],
)
def test_unknown_fields_are_a_422(
    client: FlaskClient, path: str, body: dict[str, Any], field: str
) -> None:
    status, code, message = refused(client.post(path, json=body, headers=auth()))
    assert (status, code) == (422, "unknown_field")
    assert message.startswith(field), message
    assert "expected no such field (known: " in message


@pytest.mark.parametrize(
    ("fields", "field", "limit"),
    [
        ({"user_id": "u" * 10_000}, "user_id", MAX_ID_BYTES),
        ({"utterance_id": "u" * 3_000}, "utterance_id", MAX_ID_BYTES),
        ({"session_id": "s" * (MAX_ID_BYTES + 1)}, "session_id", MAX_ID_BYTES),
        ({"session_id": "세" * (MAX_ID_BYTES // 3 + 1)}, "session_id", MAX_ID_BYTES),
        ({"text": "coffee " * 280_000}, "text", MAX_TEXT_BYTES),
    ],
)
def test_oversized_fields_are_a_422_naming_field_and_limit(
    client: FlaskClient, fields: dict[str, Any], field: str, limit: int
) -> None:
    body = {"text": ASK, "capture": capture(), **fields}
    status, code, message = refused(client.post("/v1/utterances", json=body, headers=auth()))
    assert (status, code) == (422, "field_too_large")
    assert message.startswith(f"{field}: expected at most {limit} bytes of UTF-8, got "), message
    assert "coffee" not in message


def test_a_push_to_talk_or_text_capture_may_omit_its_times(app: Flask, client: FlaskClient) -> None:
    before = datetime.now(UTC)
    for trigger in ("push_to_talk", "wake_word"):
        body = {"text": ASK, "capture": {"trigger": trigger}}
        response = client.post("/v1/utterances", json=body, headers=auth())
        assert response.status_code == 200, response.get_data(as_text=True)
    out = io.StringIO()
    app.extensions["askfirst.pipeline"].store.audit_export(out)
    utterances = [json.loads(line)["payload"]["utterance"] for line in out.getvalue().splitlines()]
    assert [u["clock"] for u in utterances] == ["server", "server"]
    assert all(datetime.fromisoformat(u["at"]) >= before.replace(microsecond=0) for u in utterances)


def test_an_audio_wake_word_capture_still_needs_its_times(client: FlaskClient) -> None:
    response = client.post(
        "/v1/utterances",
        data={
            "capture": json.dumps({"trigger": "wake_word"}),
            "sample_rate": "16000",
            "audio": (io.BytesIO(b"\0\0" * 1600), "a.pcm"),
        },
        headers=auth(),
        content_type="multipart/form-data",
    )
    status, code, message = refused(response)
    assert (status, code) == (422, "missing_field")
    assert message.startswith("capture.start: expected an ISO 8601 time"), message


def test_the_openapi_document_is_generated_from_the_models(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    models: list[tuple[str, type[BaseModel]]] = [
        ("UtteranceBody", UtteranceBody),
        ("AssistantAskedBody", AssistantAskedBody),
        ("DeclinedBody", DeclinedBody),
    ]
    for name, model in models:
        assert schemas[name]["additionalProperties"] is False
        assert set(schemas[name]["properties"]) == set(model.model_fields)
    assert schemas["CaptureBody"]["additionalProperties"] is False
    assert schemas["CaptureBody"]["required"] == ["trigger"]
    text = schemas["UtteranceBody"]["properties"]["text"]
    assert (text["maxLength"], text["x-maxBytes"]) == (MAX_TEXT_BYTES, MAX_TEXT_BYTES)
    content = document["paths"]["/v1/utterances"]["post"]["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/UtteranceBody"}
    result = schemas["TurnResultBody"]
    assert "results" in schemas["Decision"]["properties"]
    assert result["properties"]["decision"] == {
        "anyOf": [{"$ref": "#/components/schemas/Decision"}, {"type": "null"}],
        "description": result["properties"]["decision"]["description"],
    }
    assert set(result["properties"]["outcome"]["$ref"].rpartition("/")[2:]) == {"Outcome"}
    deferred = document["paths"]["/v1/utterances"]["post"]["responses"]["202"]["content"]
    assert deferred["application/json"]["schema"] == {"$ref": "#/components/schemas/DeferredBody"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("get", "/v1/utterances", "OPTIONS, POST"), ("post", "/healthz", "GET, HEAD, OPTIONS")],
)
def test_405_answers_carry_allow(client: FlaskClient, method: str, path: str, allow: str) -> None:
    response = getattr(client, method)(path, headers=auth())
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.get_json()["error"]["code"] == "method_not_allowed"
