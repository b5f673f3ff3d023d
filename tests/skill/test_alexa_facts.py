"""Facts pulled out of authentic Alexa envelopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from askfirst.skill.alexa.facts import AlexaRequestError, read_facts
from tests.skill import envelopes as env

AT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_intent_request_with_resolved_slot() -> None:
    body = env.intent_request(
        "ProductQuestionIntent",
        slots={
            "product": env.product_slot(
                "joggers", resolved_id="shoes", resolved_name="running shoes"
            )
        },
        at=AT,
        session_id="amzn1.echo-api.session.S1",
        limit_ad_tracking=True,
    )
    facts = read_facts(body)
    assert facts.request_type == "IntentRequest"
    assert facts.intent_name == "ProductQuestionIntent"
    assert facts.timestamp == AT
    assert facts.locale == "en-US"
    assert facts.application_id == env.SKILL_ID
    assert facts.user_id == env.USER_ID
    assert facts.device_id == env.DEVICE_ID
    assert facts.session_id == "amzn1.echo-api.session.S1"
    assert facts.limit_ad_tracking is True
    slot = facts.slot("product")
    assert slot is not None
    assert (slot.value, slot.resolved_id, slot.resolved_name) == (
        "joggers",
        "shoes",
        "running shoes",
    )
    assert slot.topic == "running shoes"


def test_unresolved_slot_keeps_the_spoken_value() -> None:
    body = env.intent_request(
        "ProductQuestionIntent", slots={"product": env.product_slot("kayaks")}
    )
    slot = read_facts(body).slot("product")
    assert slot is not None
    assert (slot.resolved_id, slot.topic) == (None, "kayaks")


def test_empty_slot_counts_as_absent() -> None:
    body = env.intent_request("WhatCanIBuyIntent", slots={"product": {"name": "product"}})
    assert read_facts(body).slot("product") is None


def test_advertising_context_is_optional() -> None:
    assert read_facts(env.launch_request(limit_ad_tracking=None)).limit_ad_tracking is None
    assert read_facts(env.launch_request(limit_ad_tracking=False)).limit_ad_tracking is False


def test_connections_response() -> None:
    body = env.connections_response(
        purchase_result="DECLINED", product_id="amzn1.adg.product.X", token="d1"
    )
    connection = read_facts(body).connection
    assert connection is not None
    assert (connection.name, connection.status_code) == ("Upsell", "200")
    assert (connection.purchase_result, connection.product_id, connection.token) == (
        "DECLINED",
        "amzn1.adg.product.X",
        "d1",
    )


def test_request_without_session_uses_the_context() -> None:
    facts = read_facts(env.can_fulfill_request("DealQuestionIntent", with_session=False))
    assert facts.session_id is None
    assert facts.application_id == env.SKILL_ID
    assert facts.user_id == env.USER_ID


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    node = body
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"version": "1.0"}, "body.request"),
        (_without(env.launch_request(), "request", "requestId"), "request.requestId"),
        (_without(env.launch_request(), "request", "type"), "request.type"),
        (_without(env.intent_request("X"), "request", "intent"), "request.intent"),
        (
            _without(
                env.connections_response(purchase_result="ACCEPTED", product_id="p", token="t"),
                "request",
                "name",
            ),
            "request.name",
        ),
    ],
)
def test_missing_fields_are_named(body: dict[str, Any], field: str) -> None:
    with pytest.raises(AlexaRequestError, match=field.replace(".", r"\.")):
        read_facts(body)


def test_bad_timestamp_says_what_was_expected() -> None:
    body = env.launch_request()
    body["request"]["timestamp"] = "yesterday"
    with pytest.raises(AlexaRequestError, match=r"ISO 8601.*'yesterday'"):
        read_facts(body)


def test_bad_limit_ad_tracking_type() -> None:
    body = env.launch_request()
    body["context"]["Advertising"]["limitAdTracking"] = "yes"
    with pytest.raises(AlexaRequestError, match=r"limitAdTracking.*'yes'"):
        read_facts(body)
