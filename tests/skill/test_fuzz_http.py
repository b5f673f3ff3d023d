"""Bad input never gets a 500: hypothesis throws arbitrary bodies at the HTTP API.

Every endpoint is driven through the real Flask client over a real SQLite store. A request
is either answered (200 with the documented shape) or refused with a 4xx JSON error
``{"error": {"code", "message"}}``, and a refused request leaves nothing in the store.
"""

from __future__ import annotations

import copy
import io
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from askfirst.skill.api.app import create_app
from tests.skill import envelopes
from tests.skill.conftest import auth, make_settings

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DEVICE_PATHS = ("/v1/utterances", "/v1/assistant-asked", "/v1/declined")
RECORD_TABLES = ("utterances", "decisions", "declined", "windows", "audit_log")

STRING_CHARS = st.characters() | st.sampled_from(["\x00", "\ud800", "\udfff", "\u2028"])
"""Any character, plus NUL and lone surrogates: valid JSON escapes that no store can hold."""
JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(STRING_CHARS, max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(STRING_CHARS, max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
OFFSETS = st.builds(
    timezone,
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ),
)
"""Fixed UTC offsets, including the extreme ones that push a time outside datetime's range."""
TIMES = st.builds(
    lambda moment, offset: moment.replace(tzinfo=offset).isoformat(),
    st.datetimes(min_value=datetime.min, max_value=datetime.max),
    OFFSETS,
)
TEXT_OR_TIME = TIMES | st.text(max_size=30) | st.sampled_from(["2024-05-01T12:00:00", "", "Z"])
TRIGGERS = st.sampled_from(["wake_word", "push_to_talk", "follow_up", "none", "WAKE_WORD", ""])
CAPTURES = st.fixed_dictionaries(
    {},
    optional={
        "trigger": TRIGGERS | JSON_VALUES,
        "start": TEXT_OR_TIME | JSON_VALUES,
        "end": TEXT_OR_TIME | JSON_VALUES,
        "extra": JSON_VALUES,
    },
)


@pytest.fixture(scope="module")
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, ca_files: tuple[Path, Path]
) -> Iterator[tuple[Flask, Path]]:
    """One app (Alexa verification off) and its SQLite file, shared by every example."""
    folder = tmp_path_factory.mktemp("fuzz")
    application = create_app(make_settings(folder, ca_files, alexa_verify=False))
    yield application, folder / "askfirst.db"
    application.extensions["askfirst.pipeline"].close()


@pytest.fixture
def client(fuzz_app: tuple[Flask, Path]) -> FlaskClient:
    return fuzz_app[0].test_client()


@pytest.fixture
def db(fuzz_app: tuple[Flask, Path]) -> Path:
    return fuzz_app[1]


def records(db: Path) -> dict[str, int]:
    """Rows per table that a turn, a decline or a window writes (0 before the store exists)."""
    if not db.exists():
        return dict.fromkeys(RECORD_TABLES, 0)
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in RECORD_TABLES
        }


def check_refused_or_answered(response: TestResponse, before: dict[str, int], db: Path) -> Any:
    """Never a 5xx; a 4xx is a JSON error and records nothing. Returns the decoded body."""
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = json.loads(response.get_data())
    if response.status_code >= 400:
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message"}, body
        assert all(isinstance(v, str) and v for v in body["error"].values()), body
        assert records(db) == before, body
    else:
        assert response.status_code == 200
    return body


def check_turn_result(body: dict[str, Any]) -> None:
    required = {"utterance_id", "transcript", "tag", "tag_reasons", "decision", "offer"}
    assert required <= set(body), body
    assert body["tag"] in ("prompted", "ambient")
    assert isinstance(body["decision"]["permit"], bool)
    if not body["decision"]["permit"]:
        assert body["offer"] is None


# -- device API ---------------------------------------------------------------------------------


@FUZZ
@given(path=st.sampled_from(DEVICE_PATHS), value=JSON_VALUES)
def test_arbitrary_json_values(client: FlaskClient, db: Path, path: str, value: Any) -> None:
    before = records(db)
    body = check_refused_or_answered(client.post(path, json=value, headers=auth()), before, db)
    if path == "/v1/utterances" and "error" not in body:
        check_turn_result(body)


@FUZZ
@given(
    path=st.sampled_from(DEVICE_PATHS),
    raw=st.binary(max_size=200)
    | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "text/plain",
            "multipart/form-data",
        ]
    ),
)
def test_arbitrary_bytes(
    client: FlaskClient, db: Path, path: str, raw: bytes, content_type: str
) -> None:
    before = records(db)
    response = client.post(path, data=raw, headers={**auth(), "Content-Type": content_type})
    body = check_refused_or_answered(response, before, db)
    assert "error" in body, body


FORM_TEXT = st.text(max_size=30) | st.integers().map(str) | JSON_VALUES.map(json.dumps)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "capture",
                "text",
                "locale",
                "user_id",
                "session_id",
                "sample_rate",
                "limit_ad_tracking",
                "utterance_id",
                "junk",
            ]
        ),
        FORM_TEXT,
        max_size=6,
    ),
    audio=st.none() | st.binary(max_size=400),
    capture=st.none() | CAPTURES.map(json.dumps),
)
def test_arbitrary_multipart_fields(
    client: FlaskClient, db: Path, fields: dict[str, str], audio: bytes | None, capture: str | None
) -> None:
    data: dict[str, Any] = dict(fields)
    if capture is not None:
        data["capture"] = capture
    if audio is not None:
        data["audio"] = (io.BytesIO(audio), "clip.wav")
    before = records(db)
    response = client.post(
        "/v1/utterances", data=data, headers=auth(), content_type="multipart/form-data"
    )
    body = check_refused_or_answered(response, before, db)
    if "error" not in body:
        check_turn_result(body)


@FUZZ
@given(
    capture=CAPTURES | JSON_VALUES,
    text=st.text(max_size=40),
    extra=st.dictionaries(
        st.sampled_from(["locale", "user_id", "session_id", "limit_ad_tracking", "utterance_id"]),
        JSON_VALUES,
        max_size=3,
    ),
)
def test_arbitrary_capture_objects(
    client: FlaskClient, db: Path, capture: Any, text: str, extra: dict[str, Any]
) -> None:
    before = records(db)
    response = client.post(
        "/v1/utterances", json={"text": text, "capture": capture, **extra}, headers=auth()
    )
    body = check_refused_or_answered(response, before, db)
    if "error" not in body:
        check_turn_result(body)


@FUZZ
@given(prompt_ended_at=TEXT_OR_TIME | JSON_VALUES)
def test_arbitrary_prompt_times(client: FlaskClient, db: Path, prompt_ended_at: Any) -> None:
    before = records(db)
    response = client.post(
        "/v1/assistant-asked", json={"prompt_ended_at": prompt_ended_at}, headers=auth()
    )
    body = check_refused_or_answered(response, before, db)
    if "error" not in body:
        assert body["device_id"] == "kitchen"


# -- /alexa with verification off ---------------------------------------------------------------


def _valid_envelopes() -> list[dict[str, Any]]:
    product = envelopes.product_slot("coffee", resolved_id="coffee-morning-roast")
    return [
        envelopes.intent_request("ProductQuestionIntent", slots={"product": product}),
        envelopes.intent_request("DealQuestionIntent", slots={"product": product}),
        envelopes.intent_request("AMAZON.HelpIntent"),
        envelopes.intent_request("WhySuggestIntent"),
        envelopes.launch_request(),
        envelopes.session_ended_request(reason="ERROR"),
        envelopes.can_fulfill_request("ProductQuestionIntent", slots={"product": product}),
        envelopes.connections_response(
            purchase_result="DECLINED", product_id="amzn1.adg.product.x", token="d-1"
        ),
    ]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


MUTANTS = (
    JSON_VALUES
    | TIMES
    | st.sampled_from(
        [
            *("IntentRequest", "LaunchRequest", "Connections.Response", "SessionEndedRequest"),
            *("CanFulfillIntentRequest", "ProductQuestionIntent", "ER_SUCCESS_MATCH"),
            envelopes.SKILL_ID,
        ]
    )
)
"""Replacement values: arbitrary JSON, extreme times, and names the skill dispatches on."""


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope with exactly one value replaced by an arbitrary one, or removed."""
    body: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(_valid_envelopes())))
    path = draw(st.sampled_from(_paths(body)))
    parent: Any = body
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(MUTANTS)
    return body


def post_alexa(client: FlaskClient, raw: bytes) -> TestResponse:
    return client.post("/alexa", data=raw, headers={"Content-Type": "application/json"})


def check_alexa(response: TestResponse, before: dict[str, int], db: Path) -> None:
    body = check_refused_or_answered(response, before, db)
    if "error" not in body:
        assert body["version"] == "1.0", body
        assert isinstance(body["response"], dict), body
        assert len(response.get_data()) < 24 * 1024


@FUZZ
@given(body=mutated_envelopes())
def test_alexa_envelopes_with_one_field_wrong(client: FlaskClient, db: Path, body: Any) -> None:
    before = records(db)
    check_alexa(post_alexa(client, json.dumps(body).encode()), before, db)


@FUZZ
@given(
    body=st.recursive(
        JSON_LEAVES,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "version",
                        "session",
                        "context",
                        "System",
                        "request",
                        "type",
                        "intent",
                        "name",
                        "slots",
                        "application",
                        "applicationId",
                        "timestamp",
                        "requestId",
                        "user",
                        "x",
                    ]
                ),
                inner,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_alexa_random_envelopes(client: FlaskClient, db: Path, body: Any) -> None:
    before = records(db)
    check_alexa(post_alexa(client, json.dumps(body).encode()), before, db)


def test_valid_envelopes_are_answered(client: FlaskClient, db: Path) -> None:
    """The mutation base is itself valid, so a mutation is what a refusal is about."""
    for body in _valid_envelopes():
        response = post_alexa(client, json.dumps(body).encode())
        assert response.status_code == 200, response.get_data(as_text=True)


# -- regressions: each of these was a 500 before ------------------------------------------------


def _capture(**fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    base = {"trigger": "push_to_talk", "start": now.isoformat(), "end": now.isoformat()}
    return {**base, **fields}


def refusal(response: TestResponse) -> tuple[int, str, str]:
    body = response.get_json()
    assert set(body) == {"error"}, body
    return response.status_code, body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize("trigger", [{}, [], ["wake_word"]])
def test_unhashable_trigger_is_a_422(client: FlaskClient, db: Path, trigger: Any) -> None:
    before = records(db)
    response = client.post(
        "/v1/utterances", json={"text": "hi", "capture": _capture(trigger=trigger)}, headers=auth()
    )
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_field")
    assert message.startswith("capture.trigger: expected one of 'wake_word'"), message
    assert records(db) == before


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"]
)
def test_times_outside_utc_range_are_a_422(client: FlaskClient, db: Path, moment: str) -> None:
    before = records(db)
    response = client.post(
        "/v1/utterances", json={"text": "hi", "capture": _capture(start=moment)}, headers=auth()
    )
    assert refusal(response)[:2] == (422, "invalid_field")
    assert "'1970-01-01T00:00:00+00:00'" in refusal(response)[2]
    asked = client.post("/v1/assistant-asked", json={"prompt_ended_at": moment}, headers=auth())
    assert refusal(asked)[:2] == (422, "invalid_field")
    assert records(db) == before


def test_deeply_nested_multipart_capture_is_a_422(client: FlaskClient) -> None:
    response = client.post(
        "/v1/utterances",
        data={
            "capture": "[" * 100_000,
            "sample_rate": "16000",
            "audio": (io.BytesIO(b"\0\0" * 1600), "a.pcm"),
        },
        headers=auth(),
        content_type="multipart/form-data",
    )
    status, code, message = refusal(response)
    assert (status, code) == (422, "invalid_field")
    assert message.startswith("capture: expected a JSON object"), message


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/utterances", {"text": "coffee \ud800", "capture": _capture()}, "body.text"),
        (
            "/v1/utterances",
            {"text": "coffee", "user_id": "a\x00", "capture": _capture()},
            "body.user_id",
        ),
        ("/v1/declined", {"offer_id": "\udfff"}, "body.offer_id"),
        ("/v1/declined", {"offer_id": "x", "decision_id": "d\x00"}, "body.decision_id"),
    ],
)
def test_unstorable_text_is_a_422(
    client: FlaskClient, db: Path, path: str, body: dict[str, Any], field: str
) -> None:
    before = records(db)
    status, code, message = refusal(client.post(path, json=body, headers=auth()))
    assert (status, code) == (422, "invalid_text")
    assert message.startswith(f"{field}: expected text without NUL"), message
    assert records(db) == before


def test_unstorable_text_in_a_multipart_field_is_a_422(client: FlaskClient) -> None:
    response = client.post(
        "/v1/utterances",
        data={
            "capture": json.dumps(_capture()),
            "session_id": "s\x00",
            "sample_rate": "16000",
            "audio": (io.BytesIO(b"\0\0" * 1600), "a.pcm"),
        },
        headers=auth(),
        content_type="multipart/form-data",
    )
    assert refusal(response)[:2] == (422, "invalid_text")


def _alexa_question() -> dict[str, Any]:
    product = envelopes.product_slot("coffee", resolved_id="coffee-morning-roast")
    return envelopes.intent_request("DealQuestionIntent", slots={"product": product})


def test_alexa_resolution_values_not_a_list_is_a_400(client: FlaskClient, db: Path) -> None:
    body = _alexa_question()
    slot = body["request"]["intent"]["slots"]["product"]
    slot["resolutions"]["resolutionsPerAuthority"][0]["values"] = 7
    before = records(db)
    status, code, message = refusal(post_alexa(client, json.dumps(body).encode()))
    assert (status, code) == (400, "bad_alexa_request")
    assert "resolutionsPerAuthority[0].values to be a list, got 7" in message
    assert records(db) == before


def test_alexa_timestamp_outside_utc_range_is_a_400(client: FlaskClient) -> None:
    body = _alexa_question()
    body["request"]["timestamp"] = "0001-01-01T00:00:00+01:00"
    status, code, message = refusal(post_alexa(client, json.dumps(body).encode()))
    assert (status, code) == (400, "bad_alexa_request")
    assert "'0001-01-01T00:00:00+01:00'" in message


def test_alexa_unstorable_text_is_a_400_not_an_apology(client: FlaskClient, db: Path) -> None:
    body = _alexa_question()
    body["session"]["user"]["userId"] = body["context"]["System"]["user"]["userId"] = "u\ud800"
    before = records(db)
    status, code, message = refusal(post_alexa(client, json.dumps(body).encode()))
    assert (status, code) == (400, "invalid_text")
    assert "userId: expected text without NUL" in message
    assert records(db) == before
