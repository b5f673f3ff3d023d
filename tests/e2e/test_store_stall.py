"""A stalled PostgreSQL link or a database that cannot write: fast 503s, truthful /readyz.

The app runs in process (the real Flask app, the real PostgreSQL store) with its store URL
pointed at a loopback proxy that can freeze the link: every connection stays open, nothing is
forwarded (issue 12, items 4 and 7).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from askfirst.skill.api.app import create_app
from askfirst.skill.api.readiness import FRESH_SECONDS
from askfirst.skill.settings import Settings, load_settings
from tests.e2e.conftest import with_address
from tests.e2e.tcp_proxy import TcpProxy
from tests.skill import envelopes as env
from tests.skill.conftest import DEVICE_ID, DEVICE_TOKEN, auth

pytestmark = pytest.mark.postgres

DEADLINE = 1.0


def settings(store_url: str, **overrides: object) -> Settings:
    return load_settings(
        None,
        store_url=store_url,
        device_tokens={DEVICE_TOKEN: DEVICE_ID},
        alexa_skill_ids=[env.SKILL_ID],
        alexa_verify=False,
        broadcast_hold_seconds=0.0,
        **overrides,
    )


def turn(client: FlaskClient) -> tuple[int, float]:
    now = datetime.now(UTC).isoformat()
    body = {
        "text": "what running shoes do you recommend",
        "capture": {"trigger": "push_to_talk", "start": now, "end": now},
    }
    began = time.monotonic()
    response = client.post("/v1/utterances", json=body, headers=auth())
    return response.status_code, time.monotonic() - began


@pytest.fixture
def proxied(pg_database: str) -> Iterator[tuple[Flask, TcpProxy]]:
    url = make_url(pg_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    port = proxy.start()
    app = create_app(
        settings(
            with_address(pg_database, host="127.0.0.1", port=port),
            store_timeout_seconds=DEADLINE,
        )
    )
    try:
        yield app, proxy
    finally:
        proxy.thaw()
        app.extensions["askfirst.pipeline"].close()
        proxy.cut()


def test_a_frozen_link_is_a_fast_503_and_readyz_answers_in_a_second(
    proxied: tuple[Flask, TcpProxy],
) -> None:
    app, proxy = proxied
    client = app.test_client()
    assert turn(client)[0] == 200
    assert client.get("/readyz").status_code == 200
    proxy.freeze()
    time.sleep(FRESH_SECONDS)  # a result just taken answers for this long
    began = time.monotonic()
    ready = client.get("/readyz")
    assert time.monotonic() - began < 1.2
    assert ready.status_code == 503
    status, seconds = turn(client)
    assert status == 503
    assert seconds < 4 * DEADLINE + 1, f"a frozen link held the turn for {seconds:.1f} s"
    alexa = client.post(
        "/alexa",
        json=env.intent_request(
            "DealQuestionIntent", slots={"product": env.product_slot("coffee")}
        ),
    )
    assert alexa.status_code == 200
    speech = alexa.get_json()["response"]["outputSpeech"]
    assert "sorry" in (speech.get("text") or speech.get("ssml", "")).lower()


def test_readyz_is_503_while_the_database_refuses_writes(pg_database: str) -> None:
    writable = create_app(settings(pg_database))
    assert writable.test_client().get("/readyz").status_code == 200  # migrates the schema
    writable.extensions["askfirst.pipeline"].close()
    sep = "&" if "?" in pg_database else "?"
    read_only = pg_database + sep + "options=" + quote("-c default_transaction_read_only=on")
    app = create_app(settings(read_only))
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["store"] is True
        assert response.get_json()["writes"] is False
    finally:
        app.extensions["askfirst.pipeline"].close()
