"""Facts pulled out of a raw Alexa request envelope: ids, intent, resolved slots, ad tracking.

Pure: takes the decoded JSON body, returns frozen values, raises ``AlexaRequestError`` naming
the field that was expected and what arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from askfirst.skill.errors import SkillError

ER_SUCCESS_MATCH = "ER_SUCCESS_MATCH"


class AlexaRequestError(SkillError):
    """An Alexa envelope missing a field the skill needs, or carrying one of the wrong type."""

    status = 400
    code = "bad_alexa_request"


@dataclass(frozen=True, slots=True)
class SlotFacts:
    """One slot as the user filled it."""

    name: str
    value: str | None
    """What the user said, as Alexa heard it (None when the slot is empty)."""
    resolved_id: str | None = None
    """The id of the first ER_SUCCESS_MATCH value (a catalog id for the product slot)."""
    resolved_name: str | None = None
    """The canonical name of that value."""

    @property
    def topic(self) -> str | None:
        """The words to treat as the question's topic: canonical name first, else as spoken."""
        return self.resolved_name or self.value


@dataclass(frozen=True, slots=True)
class ConnectionFacts:
    """The outcome of a Buy/Upsell/Cancel the skill started (a ``Connections.Response``)."""

    name: str
    status_code: str
    purchase_result: str | None
    """ACCEPTED, DECLINED, ALREADY_PURCHASED, ERROR or None when absent."""
    product_id: str | None
    token: str | None
    """The token the skill sent with the directive: the decision id."""


@dataclass(frozen=True, slots=True)
class AlexaFacts:
    """Everything the handlers need from one Alexa request."""

    request_type: str
    request_id: str
    timestamp: datetime
    locale: str
    application_id: str | None
    user_id: str | None
    device_id: str | None
    session_id: str | None
    new_session: bool
    intent_name: str | None = None
    slots: Mapping[str, SlotFacts] = field(default_factory=dict)
    limit_ad_tracking: bool | None = None
    """``context.Advertising.limitAdTracking`` when present."""
    connection: ConnectionFacts | None = None

    def slot(self, name: str) -> SlotFacts | None:
        """The named slot when the user filled it, else None."""
        found = self.slots.get(name)
        if found is None or found.value is None:
            return None
        return found


def _object(parent: Mapping[str, Any], key: str, where: str, *, required: bool) -> dict[str, Any]:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise AlexaRequestError(f"expected {where}.{key} to be an object, got {value!r}")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise AlexaRequestError(f"expected {where}.{key} to be a non-empty string, got {value!r}")
    return value


def parse_timestamp(value: str) -> datetime:
    """An Alexa ISO 8601 timestamp ("2024-05-01T12:00:00Z") as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise AlexaRequestError(
            f"expected request.timestamp in ISO 8601 like '2024-05-01T12:00:00Z', got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise AlexaRequestError(
            f"expected request.timestamp to be a time that exists in UTC, got {value!r}"
        ) from None


def _slot(name: str, raw: Any) -> SlotFacts:
    if not isinstance(raw, dict):
        raise AlexaRequestError(
            f"expected request.intent.slots.{name} to be an object, got {raw!r}"
        )
    value = raw.get("value")
    if value is not None and not isinstance(value, str):
        raise AlexaRequestError(
            f"expected request.intent.slots.{name}.value to be a string, got {value!r}"
        )
    resolutions = raw.get("resolutions") or {}
    per_authority = (
        resolutions.get("resolutionsPerAuthority") if isinstance(resolutions, dict) else None
    )
    for index, authority in enumerate(per_authority if isinstance(per_authority, list) else []):
        if not isinstance(authority, dict):
            continue
        status = authority.get("status") or {}
        if not isinstance(status, dict) or status.get("code") != ER_SUCCESS_MATCH:
            continue
        values = authority.get("values") or []
        if not isinstance(values, list):
            raise AlexaRequestError(
                f"expected request.intent.slots.{name}.resolutions.resolutionsPerAuthority"
                f"[{index}].values to be a list, got {values!r}"
            )
        for entry in values:
            resolved = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(resolved, dict) and isinstance(resolved.get("id"), str):
                resolved_name = resolved.get("name")
                return SlotFacts(
                    name=name,
                    value=value,
                    resolved_id=resolved["id"],
                    resolved_name=resolved_name if isinstance(resolved_name, str) else None,
                )
    return SlotFacts(name=name, value=value)


def _connection(request: Mapping[str, Any]) -> ConnectionFacts:
    status = _object(request, "status", "request", required=False)
    payload = _object(request, "payload", "request", required=False)
    purchase_result = payload.get("purchaseResult")
    product_id = payload.get("productId")
    return ConnectionFacts(
        name=_text(request, "name", "request", required=True) or "",
        status_code=str(status.get("code", "")),
        purchase_result=purchase_result if isinstance(purchase_result, str) else None,
        product_id=product_id if isinstance(product_id, str) else None,
        token=_text(request, "token", "request", required=False),
    )


def read_facts(body: Mapping[str, Any]) -> AlexaFacts:
    """The facts of one decoded Alexa request body."""
    request = _object(body, "request", "body", required=True)
    context = _object(body, "context", "body", required=False)
    system = _object(context, "System", "context", required=False)
    session = _object(body, "session", "body", required=False)
    application = _object(system, "application", "context.System", required=False) or _object(
        session, "application", "session", required=False
    )
    user = _object(system, "user", "context.System", required=False) or _object(
        session, "user", "session", required=False
    )
    device = _object(system, "device", "context.System", required=False)
    advertising = _object(context, "Advertising", "context", required=False)
    limit = advertising.get("limitAdTracking")
    if limit is not None and not isinstance(limit, bool):
        raise AlexaRequestError(
            f"expected context.Advertising.limitAdTracking to be true or false, got {limit!r}"
        )
    request_type = _text(request, "type", "request", required=True) or ""
    intent_name: str | None = None
    slots: dict[str, SlotFacts] = {}
    if request_type in ("IntentRequest", "CanFulfillIntentRequest"):
        intent = _object(request, "intent", "request", required=True)
        intent_name = _text(intent, "name", "request.intent", required=True)
        raw_slots = _object(intent, "slots", "request.intent", required=False)
        slots = {name: _slot(name, raw) for name, raw in raw_slots.items()}
    return AlexaFacts(
        request_type=request_type,
        request_id=_text(request, "requestId", "request", required=True) or "",
        timestamp=parse_timestamp(_text(request, "timestamp", "request", required=True) or ""),
        locale=_text(request, "locale", "request", required=False) or "en-US",
        application_id=_text(application, "applicationId", "application", required=False),
        user_id=_text(user, "userId", "user", required=False),
        device_id=_text(device, "deviceId", "context.System.device", required=False),
        session_id=_text(session, "sessionId", "session", required=False),
        new_session=bool(session.get("new", False)),
        intent_name=intent_name,
        slots=slots,
        limit_ad_tracking=limit,
        connection=_connection(request) if request_type == "Connections.Response" else None,
    )
