"""Builders of Alexa request envelopes shaped exactly the way Alexa sends them to a skill."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

SKILL_ID = "amzn1.ask.skill.00000000-1111-2222-3333-444444444444"
USER_ID = "amzn1.ask.account.AEXAMPLEUSER"
DEVICE_ID = "amzn1.ask.device.AEXAMPLEDEVICE"
API_ENDPOINT = "https://api.amazonalexa.com"

Envelope = dict[str, Any]


def _timestamp(at: datetime | None) -> str:
    moment = at if at is not None else datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _request_id() -> str:
    return f"amzn1.echo-api.request.{uuid.uuid4()}"


def envelope(
    request: dict[str, Any],
    *,
    skill_id: str = SKILL_ID,
    user_id: str = USER_ID,
    device_id: str = DEVICE_ID,
    session_id: str | None = None,
    new_session: bool = False,
    limit_ad_tracking: bool | None = False,
    with_session: bool = True,
) -> Envelope:
    """Wrap ``request`` in the version/session/context envelope Alexa puts around every request."""
    application = {"applicationId": skill_id}
    user = {"userId": user_id}
    context: dict[str, Any] = {
        "System": {
            "application": application,
            "user": user,
            "device": {"deviceId": device_id, "supportedInterfaces": {}},
            "apiEndpoint": API_ENDPOINT,
            "apiAccessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.example",
        }
    }
    if limit_ad_tracking is not None:
        context["Advertising"] = {
            "advertisingId": "00000000-0000-0000-0000-000000000000"
            if limit_ad_tracking
            else str(uuid.uuid4()),
            "limitAdTracking": limit_ad_tracking,
        }
    body: Envelope = {"version": "1.0", "context": context, "request": request}
    if with_session:
        body["session"] = {
            "new": new_session,
            "sessionId": session_id or f"amzn1.echo-api.session.{uuid.uuid4()}",
            "application": application,
            "attributes": {},
            "user": user,
        }
    return body


def launch_request(*, locale: str = "en-US", at: datetime | None = None, **kwargs: Any) -> Envelope:
    """A LaunchRequest ("Alexa, open ask first")."""
    request = {
        "type": "LaunchRequest",
        "requestId": _request_id(),
        "timestamp": _timestamp(at),
        "locale": locale,
    }
    kwargs.setdefault("new_session", True)
    return envelope(request, **kwargs)


def product_slot(
    spoken: str,
    *,
    resolved_id: str | None = None,
    resolved_name: str | None = None,
    skill_id: str = SKILL_ID,
    slot_name: str = "product",
    slot_type: str = "CATALOG_ITEM",
) -> dict[str, Any]:
    """A slot as Alexa sends it, with entity resolution (a match when ``resolved_id`` is given)."""
    authority = f"amzn1.er-authority.echo-sdk.{skill_id}.{slot_type}"
    if resolved_id is not None:
        resolution = {
            "authority": authority,
            "status": {"code": "ER_SUCCESS_MATCH"},
            "values": [{"value": {"name": resolved_name or spoken, "id": resolved_id}}],
        }
    else:
        resolution = {"authority": authority, "status": {"code": "ER_SUCCESS_NO_MATCH"}}
    return {
        "name": slot_name,
        "value": spoken,
        "confirmationStatus": "NONE",
        "source": "USER",
        "resolutions": {"resolutionsPerAuthority": [resolution]},
    }


def intent_request(
    name: str,
    *,
    slots: dict[str, dict[str, Any]] | None = None,
    locale: str = "en-US",
    at: datetime | None = None,
    dialog_state: str | None = None,
    **kwargs: Any,
) -> Envelope:
    """An IntentRequest for intent ``name``; ``slots`` maps slot name to a slot object."""
    request: dict[str, Any] = {
        "type": "IntentRequest",
        "requestId": _request_id(),
        "timestamp": _timestamp(at),
        "locale": locale,
        "intent": {"name": name, "confirmationStatus": "NONE", "slots": slots or {}},
    }
    if dialog_state is not None:
        request["dialogState"] = dialog_state
    return envelope(request, **kwargs)


def session_ended_request(
    *,
    reason: str = "USER_INITIATED",
    locale: str = "en-US",
    at: datetime | None = None,
    **kwargs: Any,
) -> Envelope:
    """A SessionEndedRequest (reason USER_INITIATED, EXCEEDED_MAX_REPROMPTS or ERROR)."""
    request: dict[str, Any] = {
        "type": "SessionEndedRequest",
        "requestId": _request_id(),
        "timestamp": _timestamp(at),
        "locale": locale,
        "reason": reason,
    }
    if reason == "ERROR":
        request["error"] = {"type": "INVALID_RESPONSE", "message": "example error"}
    return envelope(request, **kwargs)


def can_fulfill_request(
    name: str,
    *,
    slots: dict[str, dict[str, Any]] | None = None,
    locale: str = "en-US",
    at: datetime | None = None,
    **kwargs: Any,
) -> Envelope:
    """A CanFulfillIntentRequest: Alexa asking whether the skill could handle an intent."""
    request: dict[str, Any] = {
        "type": "CanFulfillIntentRequest",
        "requestId": _request_id(),
        "timestamp": _timestamp(at),
        "locale": locale,
        "intent": {"name": name, "slots": slots or {}},
    }
    kwargs.setdefault("new_session", True)
    return envelope(request, **kwargs)


def connections_response(
    *,
    purchase_result: str,
    product_id: str,
    token: str,
    name: str = "Upsell",
    status_code: str = "200",
    locale: str = "en-US",
    at: datetime | None = None,
    **kwargs: Any,
) -> Envelope:
    """A Connections.Response for a Buy/Upsell the skill started (ACCEPTED, DECLINED, ...)."""
    request: dict[str, Any] = {
        "type": "Connections.Response",
        "requestId": _request_id(),
        "timestamp": _timestamp(at),
        "locale": locale,
        "status": {"code": status_code, "message": "OK" if status_code == "200" else "error"},
        "name": name,
        "payload": {"purchaseResult": purchase_result, "productId": product_id},
        "token": token,
    }
    return envelope(request, **kwargs)


def encode(body: Envelope) -> bytes:
    """The raw bytes Alexa would POST (compact JSON, UTF-8)."""
    return json.dumps(body, separators=(",", ":")).encode("utf-8")
