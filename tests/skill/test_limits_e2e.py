"""One set of limits: what the HTTP edge accepts, the store keeps, and what it refuses, nothing
behind it ever sees (real HTTP into a served app, on SQLite and on PostgreSQL).

Before, the edge counted characters (ids 128, transcripts 2,000) and the store bytes (200 and
4,096): a 128-character Korean user id passed the edge, became 400 bytes in the store and was
answered with a 500, and a 2,000-character Korean transcript (6,000 bytes) likewise.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from askfirst.core.devices import Device
from askfirst.core.limits import (
    ALEXA_ID_BYTES,
    MAX_ID_BYTES,
    MAX_KEY_BYTES,
    MAX_LOCALE_BYTES,
    MAX_NAME_BYTES,
    MAX_TEXT_BYTES,
    utf8_size,
)
from askfirst.skill.api.users import anonymous_key, household_key, user_key
from askfirst.store.schema import audit_log, declined, utterances
from askfirst.store.sql import SqlStore
from askfirst.turn.pipeline import scoped_id
from tests.skill.live import Live, live_settings, serving
from tests.store.conftest import PG_DSN, pg_schema_url

TOKEN = "tok-limits-5d1e0b77"
DEVICE = "부엌" * 10 + "부/"
"""A device id at its limit (64 bytes) whose percent-encoding triples every byte."""
HOUSEHOLD = "h" * MAX_NAME_BYTES


def sized(limit: int, *, over: int = 0) -> str:
    """Korean and ASCII, exactly ``limit + over`` bytes of UTF-8 (3 bytes a syllable)."""
    size = limit + over
    return "가" * (size // 3) + "x" * (size % 3)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    schema = f"askfirst_test_{uuid.uuid4().hex[:12]}"
    if request.param == "postgresql":
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = pg_schema_url(schema)
    settings = live_settings(
        tmp_path,
        store_url=url,
        device_tokens={TOKEN: {"device": DEVICE, "household": HOUSEHOLD}},
        broadcast_hold_seconds=0.0,
    )
    try:
        with serving(settings) as served:
            yield served
    finally:
        if request.param == "postgresql":
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def post(live: Live, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{live.url}{path}", json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )


def store_of(live: Live) -> SqlStore:
    store = live.app.extensions["askfirst.pipeline"].store
    assert isinstance(store, SqlStore)
    return store


def counts(live: Live) -> tuple[int, int, int]:
    """Audit records, utterances and declined offers in the served store."""
    with store_of(live)._engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (audit_log, utterances, declined)
        )


def turn(**fields: Any) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    body = {
        "text": "any deals on coffee?",
        "capture": {"trigger": "push_to_talk", "start": now, "end": now},
        "user_id": "anna",
        "session_id": "s1",
        "utterance_id": uuid.uuid4().hex,
        "locale": "en-US",
    }
    return {**body, **fields}


def test_every_field_at_its_limit_is_kept_whole(live: Live) -> None:
    text = sized(MAX_TEXT_BYTES)
    body = turn(
        text=text,
        user_id=sized(MAX_ID_BYTES),
        session_id=sized(MAX_ID_BYTES),
        utterance_id=sized(MAX_ID_BYTES),
        locale="en-US",
    )
    answered = post(live, "/v1/utterances", body)
    assert answered.status_code == 200, answered.text
    decision_id = answered.json()["decision"]["id"]
    key = household_key(HOUSEHOLD, body["user_id"])
    with store_of(live)._engine.connect() as conn:
        row = conn.execute(
            select(utterances.c.text, utterances.c.user_id, utterances.c.session_id).where(
                utterances.c.id == scoped_id(DEVICE, body["utterance_id"])
            )
        ).one()
    assert (row.text, row.user_id, row.session_id) == (text, key, body["session_id"])
    assert utf8_size(row.text) == MAX_TEXT_BYTES

    at_limit = sized(MAX_ID_BYTES)
    kept = post(
        live,
        "/v1/declined",
        {"offer_id": "coffee-morning-roast", "decision_id": at_limit, "user_id": body["user_id"]},
    )
    assert kept.status_code == 200, kept.text
    with store_of(live)._engine.connect() as conn:
        kept_id = conn.execute(
            select(declined.c.decision_id).where(declined.c.user_id == key)
        ).scalar_one()
    assert kept_id == at_limit
    assert store_of(live).get_decision(decision_id) is not None
    assert store_of(live).audit_verify().ok


OVER: list[tuple[str, str, dict[str, Any], int]] = [
    ("/v1/utterances", "text", turn(text=sized(MAX_TEXT_BYTES, over=1)), MAX_TEXT_BYTES),
    ("/v1/utterances", "user_id", turn(user_id=sized(MAX_ID_BYTES, over=1)), MAX_ID_BYTES),
    ("/v1/utterances", "session_id", turn(session_id=sized(MAX_ID_BYTES, over=1)), MAX_ID_BYTES),
    (
        "/v1/utterances",
        "utterance_id",
        turn(utterance_id=sized(MAX_ID_BYTES, over=1)),
        MAX_ID_BYTES,
    ),
    ("/v1/utterances", "locale", turn(locale="x" * (MAX_LOCALE_BYTES + 1)), MAX_LOCALE_BYTES),
    (
        "/v1/declined",
        "offer_id",
        {"offer_id": sized(MAX_ID_BYTES, over=1), "user_id": "anna"},
        MAX_ID_BYTES,
    ),
    (
        "/v1/declined",
        "decision_id",
        {"offer_id": "coffee-morning-roast", "decision_id": sized(MAX_ID_BYTES, over=1)},
        MAX_ID_BYTES,
    ),
]


@pytest.mark.parametrize(("path", "field", "body", "limit"), OVER, ids=[o[1] for o in OVER])
def test_one_byte_over_is_a_422_naming_field_limit_and_size_and_nothing_is_written(
    live: Live, path: str, field: str, body: dict[str, Any], limit: int
) -> None:
    before = counts(live)
    refused = post(live, path, body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["Content-Type"] == "application/json"
    error = refused.json()["error"]
    assert error["code"] == "field_too_large"
    value = body[field]
    assert error["message"] == (
        f"{field}: expected at most {limit} bytes of UTF-8, got {limit + 1} bytes "
        f"({len(value)} characters)"
    )
    assert value not in error["message"]
    assert counts(live) == before


def test_every_key_the_edge_builds_fits_the_store() -> None:
    """The store checks namespaced ids against MAX_KEY_BYTES: the longest keys built by the
    edge's own functions from parts at their limits fit it, and so does an Alexa id."""
    device = Device(device_id=DEVICE, household=HOUSEHOLD)
    longest = sized(MAX_ID_BYTES)
    keys = [
        user_key(device, longest, devices=[device]),
        household_key(HOUSEHOLD, longest),
        anonymous_key(DEVICE),
        scoped_id(DEVICE, longest),
        "amzn1.ask.account." + "A" * (ALEXA_ID_BYTES - 18),
    ]
    assert max(utf8_size(k) for k in keys) <= MAX_KEY_BYTES
    assert utf8_size(scoped_id(DEVICE, longest)) == MAX_KEY_BYTES  # the bound is tight


def test_a_configured_device_name_over_its_limit_is_refused() -> None:
    from askfirst.skill.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=f"at most {MAX_NAME_BYTES} bytes of UTF-8") as caught:
        load_settings(None, device_tokens={TOKEN: {"device": "d" * (MAX_NAME_BYTES + 1)}})
    assert TOKEN not in caught.value.message  # a token map's keys are never repeated
