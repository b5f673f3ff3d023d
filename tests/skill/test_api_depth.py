"""Deeply nested JSON is refused before anything recurses into it (issue 12, item 14)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.skill.api.depth import MAX_JSON_DEPTH, check_depth
from askfirst.skill.errors import SkillError
from tests.skill import envelopes as env
from tests.skill.conftest import Alexa, auth


def nested(levels: int) -> Any:
    value: Any = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("levels", [491, 900])
def test_signed_alexa_request_with_deep_session_attributes_is_a_400(
    alexa: Alexa, levels: int
) -> None:
    body = env.launch_request()
    body["session"]["attributes"] = nested(levels)
    response = alexa.post(body)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] == "malformed_json"
    assert f"at most {MAX_JSON_DEPTH} levels" in error["message"]


def test_shallow_session_attributes_still_work(alexa: Alexa) -> None:
    body = env.launch_request()
    body["session"]["attributes"] = nested(10)
    assert alexa.post(body).status_code == 200


def test_deep_device_api_body_is_a_400(client: FlaskClient) -> None:
    now = datetime.now(UTC).isoformat()
    body = {
        "text": "hi",
        "capture": {"trigger": "push_to_talk", "start": now, "end": now},
        "user_id": nested(200),
    }
    response = client.post("/v1/utterances", json=body, headers=auth())
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "malformed_json")


def test_check_depth_counts_lists_and_objects() -> None:
    check_depth([[[1]]], limit=3)
    with pytest.raises(SkillError):
        check_depth([[[[1]]]], limit=3)
    check_depth({"a": 1}, limit=1)
