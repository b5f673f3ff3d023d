"""Broadcast, households and deferred turns through the real Flask client and a real store."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from askfirst.skill.api.app import create_app
from askfirst.skill.cli.main import main as cli
from tests.skill.conftest import make_settings

TOKENS = {
    "tok-kitchen": {"device": "kitchen", "household": "flat-12", "room": "kitchen"},
    "tok-lounge": {"device": "lounge", "household": "flat-12"},
    "tok-tv-b": {"device": "tv-b", "household": "home-b"},
    "tok-alone": "den",
}
KEY = "device-api-broadcast-test-key-" + "7" * 20


@pytest.fixture
def client(tmp_path: Path, ca_files: tuple[Path, Path]) -> FlaskClient:
    settings = make_settings(
        tmp_path,
        ca_files,
        device_tokens=TOKENS,
        broadcast_hold_seconds=0.5,
        broadcast_key=KEY,
    )
    return create_app(settings).test_client()


def post(
    client: FlaskClient,
    token: str,
    text: str,
    *,
    start: datetime,
    seconds: float = 2.0,
    prefer: str | None = None,
    **fields: Any,
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    if prefer is not None:
        headers["Prefer"] = prefer
    capture = {
        "trigger": "wake_word",
        "start": start.isoformat(),
        "end": (start + timedelta(seconds=seconds)).isoformat(),
        **fields.pop("capture", {}),
    }
    response = client.post(
        "/v1/utterances", json={"text": text, "capture": capture, **fields}, headers=headers
    )
    body = response.get_json()
    assert isinstance(body, dict)
    return response.status_code, body


def report_then_resend(
    client: FlaskClient, reports: list[tuple[str, str, datetime, str]]
) -> list[dict[str, Any]]:
    """Every device reports (``Prefer: respond-async``: each is registered and deferred), then
    each sends its capture again once told to; returns the decided answers in report order."""
    waits = []
    for token, text, start, utterance_id in reports:
        status, pending = post(
            client, token, text, start=start, prefer="respond-async", utterance_id=utterance_id
        )
        assert status == 202, pending
        waits.append(pending["retry_after"])
    time.sleep(max(waits) + 0.05)
    answers = []
    for token, text, start, utterance_id in reports:
        status, body = post(
            client, token, text, start=start, prefer="respond-async", utterance_id=utterance_id
        )
        assert status == 200, body
        answers.append(body)
    return answers


def test_one_person_heard_by_two_speakers_of_one_home_gets_one_answer(client: FlaskClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=3)
    first, second = report_then_resend(
        client,
        [
            ("tok-kitchen", "Alexa, do you have any deals on coffee?", start, "k-1"),
            ("tok-lounge", "Alexa do you have any deal on coffee", start, "l-1"),
        ],
    )
    assert (first["outcome"], first["tag"]) == ("answering", "prompted")
    assert first["offer"] is not None
    assert second["outcome"] == "answered_elsewhere"
    assert (second["answered_by"], second["decision"], second["offer"]) == ("kitchen", None, None)


def test_the_same_sound_in_two_homes_is_a_broadcast_for_both(client: FlaskClient) -> None:
    """The first report of a broadcast is not decided before the second is in: a capture
    longer than the hold (this one started 3 s ago) waits the hold from its arrival too."""
    start = datetime.now(UTC) - timedelta(seconds=3)
    first, second = report_then_resend(
        client,
        [
            ("tok-tv-b", "Alexa, do you have any deals on coffee?", start, "tv-1"),
            ("tok-alone", "Alexa do you have a deals on coffee", start, "den-1"),
        ],
    )
    for answer, other in ((first, "den"), (second, "tv-b")):
        assert (answer["outcome"], answer["tag"], answer["offer"]) == (
            "broadcast",
            "ambient",
            None,
        )
        assert "broadcast" in answer["tag_reasons"] and answer["heard_by"] == [other]


def test_a_report_is_deferred_for_the_hold_from_its_arrival(client: FlaskClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=3)
    before = datetime.now(UTC)
    status, pending = post(
        client,
        "tok-alone",
        "Alexa, what coffee do you recommend?",
        start=start,
        prefer="respond-async",
        utterance_id="den-1",
    )
    after = datetime.now(UTC)
    assert status == 202
    assert pending["status"] == "pending" and pending["utterance_id"] == "den-1"
    assert 0 < pending["retry_after"] <= 0.5
    decide_at = datetime.fromisoformat(pending["decide_at"])
    assert before + timedelta(seconds=0.5) <= decide_at <= after + timedelta(seconds=0.5)
    # Sent again early, it is deferred to the same moment (counted from its first report).
    _, again = post(
        client,
        "tok-alone",
        "Alexa, what coffee do you recommend?",
        start=start,
        prefer="respond-async",
        utterance_id="den-1",
    )
    assert datetime.fromisoformat(again["decide_at"]) == decide_at


def test_without_prefer_the_hold_is_waited_and_the_turn_decided(client: FlaskClient) -> None:
    start = datetime.now(UTC) - timedelta(seconds=2)
    before = time.monotonic()
    status, body = post(client, "tok-alone", "Alexa, what coffee do you recommend?", start=start)
    assert status == 200 and body["tag"] == "prompted" and body["outcome"] == "alone"
    assert time.monotonic() - before >= 0.5


def test_push_to_talk_is_never_held(client: FlaskClient) -> None:
    status, body = post(
        client,
        "tok-alone",
        "what coffee do you recommend?",
        start=datetime.now(UTC),
        prefer="respond-async",
        capture={"trigger": "push_to_talk"},
    )
    assert status == 200 and body["tag"] == "prompted"


def test_known_media_is_ambient_even_alone(
    client: FlaskClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "coffee-advert.txt"
    script.write_text(
        "Morning Roast. Alexa, do you have any deals on coffee? Yes: half price this week.",
        encoding="utf-8",
    )
    monkeypatch.setenv("ASKFIRST_STORE_URL", f"sqlite:///{tmp_path / 'askfirst.db'}")
    monkeypatch.delenv("ASKFIRST_BROADCAST_KEY", raising=False)
    assert cli(["media", "add", str(script)]) == 2, "no key set: refused"
    assert "ASKFIRST_BROADCAST_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ASKFIRST_BROADCAST_KEY", KEY)
    assert cli(["media", "add", str(script)]) == 0
    media_id = capsys.readouterr().out.split()[1]
    assert cli(["media", "list"]) == 0
    listed = capsys.readouterr().out
    assert "coffee-advert.txt" in listed and "text" in listed and "half price" not in listed
    start = datetime.now(UTC) - timedelta(seconds=3)
    _, body = post(client, "tok-alone", "Alexa, do you have any deals on coffee?", start=start)
    assert (body["outcome"], body["tag"], body["known_media"]) == (
        "known_media",
        "ambient",
        "coffee-advert.txt",
    )
    assert cli(["media", "remove", media_id]) == 0
    assert cli(["media", "remove", media_id]) == 1
