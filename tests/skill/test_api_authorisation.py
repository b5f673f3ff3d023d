"""Hostile devices: a token speaks only for its household's users, and only with its own ids."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.core.devices import Device
from askfirst.skill.api.app import create_app
from askfirst.skill.api.users import user_key
from askfirst.skill.errors import SkillError
from tests.skill.conftest import auth, make_settings

KITCHEN, LOUNGE, BEDROOM = "tok-kitchen", "tok-lounge", "tok-bedroom"
ASK = "Alexa, do you have any deals on coffee?"


@pytest.fixture
def client(tmp_path: Path, ca_files: tuple[Path, Path]) -> Iterator[FlaskClient]:
    settings = make_settings(
        tmp_path,
        ca_files,
        device_tokens={
            KITCHEN: {"device": "kitchen", "household": "flat-12"},
            LOUNGE: {"device": "lounge", "household": "flat-12"},
            BEDROOM: {"device": "bedroom", "household": "flat-13"},
        },
    )
    application = create_app(settings)
    yield application.test_client()
    application.extensions["askfirst.pipeline"].close()


def say(client: FlaskClient, token: str, text: str, **fields: Any) -> Any:
    now = datetime.now(UTC).isoformat()
    body = {"text": text, "capture": {"trigger": "push_to_talk", "start": now, "end": now}}
    return client.post("/v1/utterances", json={**body, **fields}, headers=auth(token))


def test_another_household_cannot_opt_a_user_back_in(client: FlaskClient) -> None:
    assert say(client, BEDROOM, "stop offering me deals", user_id="anna").status_code == 200
    # The kitchen of another flat names the same user id and opts "her" back in.
    assert say(client, KITCHEN, "you can offer me deals again", user_id="anna").status_code == 200
    asked = say(client, BEDROOM, ASK, user_id="anna").get_json()
    assert (asked["decision"]["permit"], asked["decision"]["rule"]) == (False, "R6.consent")


def test_a_housemate_device_speaks_for_the_same_user(client: FlaskClient) -> None:
    assert say(client, KITCHEN, "stop offering me deals", user_id="anna").status_code == 200
    asked = say(client, LOUNGE, ASK, user_id="anna").get_json()
    assert asked["decision"]["rule"] == "R6.consent"


@pytest.mark.parametrize(
    "user_id", ["device:bedroom", "amzn1.ask.account.AEXAMPLE", "household:flat-13:anna"]
)
def test_users_outside_the_household_are_a_403(client: FlaskClient, user_id: str) -> None:
    for response in (
        say(client, KITCHEN, ASK, user_id=user_id),
        client.post(
            "/v1/declined",
            json={"offer_id": "coffee-morning-roast", "user_id": user_id},
            headers=auth(KITCHEN),
        ),
    ):
        assert response.status_code == 403, response.get_data(as_text=True)
        error = response.get_json()["error"]
        assert error["code"] == "forbidden_user"
        assert "expected a user of household 'flat-12'" in error["message"]
        assert repr(user_id) in error["message"]


def test_declines_land_on_the_household_key(client: FlaskClient) -> None:
    declined = client.post(
        "/v1/declined",
        json={"offer_id": "coffee-morning-roast", "user_id": "anna"},
        headers=auth(KITCHEN),
    )
    assert declined.status_code == 200, declined.get_data(as_text=True)
    assert declined.get_json()["user"] == "household:flat-12:anna"
    mine = client.post(
        "/v1/declined",
        json={"offer_id": "coffee-morning-roast", "user_id": "device:lounge"},
        headers=auth(KITCHEN),
    )
    assert mine.get_json()["user"] == "device:lounge"


def test_user_keys_never_collide_across_namespaces() -> None:
    kitchen = Device("kitchen", "flat-12")
    keys = {
        user_key(kitchen, None, devices=()),
        user_key(kitchen, "kitchen", devices=()),
        user_key(kitchen, "device:kitchen", devices=()),
    }
    assert keys == {"device:kitchen", "household:flat-12:kitchen"}
    with pytest.raises(SkillError) as caught:
        user_key(kitchen, "household:flat-1", devices=())
    assert caught.value.status == 403


def test_utterance_ids_are_scoped_per_device(client: FlaskClient) -> None:
    first = say(client, BEDROOM, ASK, utterance_id="u-1")
    assert first.status_code == 200
    # Another device using the same id is not blocked, and learns nothing of the first.
    other = say(client, KITCHEN, ASK, utterance_id="u-1")
    assert other.status_code == 200, other.get_data(as_text=True)
    assert other.get_json()["utterance_id"] == "kitchen/u-1"
    retry = say(client, KITCHEN, ASK, utterance_id="u-1")
    assert retry.status_code == 409
    message = retry.get_json()["error"]["message"]
    assert first.get_json()["decision"]["id"] not in message
    assert other.get_json()["decision"]["id"] in message
