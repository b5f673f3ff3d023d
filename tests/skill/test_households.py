"""Households: the device-token setting names a device's home, in the new and the old form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.core.capture import CaptureContext, CaptureContextError, Trigger
from askfirst.core.devices import Device, DeviceError
from askfirst.skill.api.app import create_app
from askfirst.skill.settings import SettingsError, load_settings
from askfirst.skill.wiring import pipeline_from_settings
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import TurnInput, TurnResult
from tests.skill.conftest import make_settings


def test_both_token_forms_are_accepted() -> None:
    settings = load_settings(
        None,
        device_tokens={
            "tok-a": "kitchen",
            "tok-b": {"device": "lounge", "household": "flat-12", "room": "living room"},
            "tok-c": {"device": "hall"},
        },
    )
    assert settings.devices() == {
        "tok-a": Device("kitchen", "kitchen"),
        "tok-b": Device("lounge", "flat-12", "living room"),
        "tok-c": Device("hall", "hall"),
    }


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ({"household": "flat-12"}, "device"),
        ({"device": "a", "home": "flat-12"}, "home"),
        ({"device": "a", "household": ""}, "household"),
        (5, "device_tokens"),
    ],
)
def test_bad_token_entries_name_the_field(entry: object, needle: str) -> None:
    with pytest.raises(SettingsError, match=needle):
        load_settings(None, device_tokens={"tok": entry})


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"device_id": "", "household": "h"}, DeviceError),
        ({"device_id": "a", "household": " "}, DeviceError),
        ({"device_id": "a", "household": "h", "room": ""}, DeviceError),
    ],
)
def test_device_refuses_blank_names(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Device(**kwargs)


def test_capture_household_defaults_to_the_device() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    alone = CaptureContext(trigger=Trigger.WAKE_WORD, device_id="kitchen", start=at, end=at)
    assert alone.household == "kitchen"
    shared = CaptureContext(
        trigger=Trigger.WAKE_WORD, device_id="kitchen", household="flat-12", start=at, end=at
    )
    assert shared.household == "flat-12"
    with pytest.raises(CaptureContextError, match="level"):
        CaptureContext(
            trigger=Trigger.WAKE_WORD, device_id="k", start=at, end=at, level=float("nan")
        )


class RecordingPipeline(Pipeline):
    """The real pipeline, remembering the turns it was handed."""

    turns: list[TurnInput]

    def handle(self, turn: TurnInput) -> TurnResult:
        self.turns.append(turn)
        return super().handle(turn)


@pytest.fixture
def pipeline(tmp_path: Path, ca_files: tuple[Path, Path]) -> Iterator[RecordingPipeline]:
    settings = make_settings(
        tmp_path,
        ca_files,
        device_tokens={"tok-lounge": {"device": "lounge", "household": "flat-12"}},
    )
    built = pipeline_from_settings(settings)
    recording = RecordingPipeline(
        policy=built.policy, store=built.store, transcribers=built.transcribers, config=built.config
    )
    recording.turns = []
    yield recording
    recording.close()


@pytest.fixture
def household_client(
    tmp_path: Path, ca_files: tuple[Path, Path], pipeline: Pipeline
) -> FlaskClient:
    settings = make_settings(
        tmp_path,
        ca_files,
        device_tokens={"tok-lounge": {"device": "lounge", "household": "flat-12"}},
    )
    return create_app(settings, pipeline=pipeline).test_client()


def test_the_route_knows_the_household(
    household_client: FlaskClient, pipeline: RecordingPipeline
) -> None:
    response = household_client.post(
        "/v1/utterances",
        json={
            "text": "any deals on coffee?",
            "capture": {"trigger": "push_to_talk", "level": -20.5},
        },
        headers={"Authorization": "Bearer tok-lounge"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["tag"] == "prompted"
    (turn,) = pipeline.turns
    assert (turn.device_id, turn.household, turn.capture.level) == ("lounge", "flat-12", -20.5)


@pytest.mark.parametrize("level", ["loud", True, [1]])
def test_a_bad_level_is_a_422(household_client: FlaskClient, level: object) -> None:
    response = household_client.post(
        "/v1/utterances",
        json={
            "text": "hi",
            "capture": {"trigger": "push_to_talk", "level": level},
        },
        headers={"Authorization": "Bearer tok-lounge"},
    )
    assert response.status_code == 422
    assert "capture.level" in response.get_json()["error"]["message"]
