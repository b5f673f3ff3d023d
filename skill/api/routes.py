"""The device API: POST /v1/utterances and friends, /openapi.json, /healthz, /readyz.

Devices authenticate with ``Authorization: Bearer <token>``; the token names the device.
Request parsing is plain functions over decoded fields so every bad input gets a 4xx that
names the field, what was expected and what arrived.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from askfirst.core.capture import CaptureContext, Trigger
from askfirst.core.devices import Device
from askfirst.policy.values import RequestFacts
from askfirst.skill.api.openapi import document
from askfirst.skill.errors import SkillError
from askfirst.skill.request_text import find_bad_text
from askfirst.skill.settings import Settings
from askfirst.speech.audio import Audio, from_raw_pcm, read_wav
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import TurnInput

logger = logging.getLogger(__name__)

blueprint = Blueprint("device_api", __name__)

JSON = "application/json"
MULTIPART = "multipart/form-data"
_TRIGGERS = ", ".join(repr(t.value) for t in Trigger)


def invalid(field: str, expected: str, got: object, *, code: str = "invalid_field") -> SkillError:
    return SkillError(f"{field}: expected {expected}, got {got!r}", code=code, status=422)


def missing(field: str, expected: str) -> SkillError:
    return SkillError(
        f"{field}: expected {expected}, got nothing", code="missing_field", status=422
    )


def device_for(authorization: str | None, tokens: Mapping[str, Device]) -> Device:
    """The device a bearer token belongs to, compared in constant time against every token."""
    if not authorization:
        raise SkillError(
            "expected an 'Authorization: Bearer <token>' header, got none",
            code="missing_token",
            status=401,
        )
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise SkillError(
            f"expected 'Authorization: Bearer <token>', got scheme {scheme[:20]!r}"
            + ("" if token else " with no token"),
            code="malformed_token",
            status=401,
        )
    offered = token.encode("utf-8", "surrogateescape")
    device: Device | None = None
    for known, identity in tokens.items():
        if hmac.compare_digest(known.encode("utf-8"), offered):
            device = identity
    if device is None:
        raise SkillError(
            "expected a bearer token issued to a device, got one that is not configured",
            code="unknown_token",
            status=403,
        )
    return device


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Times outside these bounds are refused: far enough from datetime's limits that windows,
retention and broadcast arithmetic on an accepted time can never overflow."""


def _timestamp(value: object, field: str) -> datetime:
    expected = "an ISO 8601 time with a timezone like '2024-05-01T12:00:00+00:00'"
    if not isinstance(value, str):
        raise invalid(field, expected, value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(field, expected, value) from None
    if parsed.tzinfo is None:
        raise invalid(field, expected, value)
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc < LATEST:
        raise invalid(
            field,
            f"a time from {EARLIEST.isoformat()!r} up to {LATEST.isoformat()!r} (UTC)",
            value,
        )
    return parsed


def _optional_text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(name, "a non-empty string", value)
    return value


def _flag(value: object, field: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid(field, "true, false or null", value)


def capture_from(value: object, *, device: Device) -> CaptureContext:
    """``{"trigger", "start", "end", "level"?}`` as a capture context for ``device``."""
    if value is None:
        raise missing("capture", 'an object {"trigger", "start", "end"}')
    if not isinstance(value, dict):
        raise invalid("capture", 'an object {"trigger", "start", "end"}', value)
    trigger = value.get("trigger")
    if trigger is None:
        raise missing("capture.trigger", f"one of {_TRIGGERS}")
    if not isinstance(trigger, str) or trigger not in {t.value for t in Trigger}:
        raise invalid("capture.trigger", f"one of {_TRIGGERS}", trigger)
    for name in ("start", "end"):
        if value.get(name) is None:
            raise missing(f"capture.{name}", "an ISO 8601 time with a timezone")
    start = _timestamp(value["start"], "capture.start")
    end = _timestamp(value["end"], "capture.end")
    if end < start:
        raise invalid("capture.end", f"a time at or after capture.start {value['start']!r}", end)
    level = value.get("level")
    if level is not None and (
        isinstance(level, bool) or not isinstance(level, int | float) or not math.isfinite(level)
    ):
        raise invalid("capture.level", "a number (the capture's level, e.g. dBFS) or null", level)
    return CaptureContext(
        trigger=Trigger(trigger),
        device_id=device.device_id,
        household=device.household,
        start=start,
        end=end,
        level=None if level is None else float(level),
    )


def turn_from(
    fields: Mapping[str, Any], *, device: Device, audio: Audio | None, default_locale: str
) -> TurnInput:
    """A pipeline turn from the decoded request fields (JSON object or multipart form)."""
    text = fields.get("text")
    if audio is None and text is None:
        raise missing("text", "a string (or send multipart with an 'audio' WAV part)")
    if audio is not None and text is not None:
        raise invalid("text", "no text when an 'audio' part is sent", "text and audio")
    if text is not None and not isinstance(text, str):
        raise invalid("text", "a string", text)
    locale = fields.get("locale", default_locale)
    if not isinstance(locale, str) or not locale:
        raise invalid("locale", "a locale like 'en-US'", locale)
    return TurnInput(
        device_id=device.device_id,
        capture=capture_from(fields.get("capture"), device=device),
        locale=locale,
        text=text,
        audio=audio,
        user_id=_optional_text(fields, "user_id"),
        session_id=_optional_text(fields, "session_id"),
        request=RequestFacts(
            limit_ad_tracking=_flag(fields.get("limit_ad_tracking"), "limit_ad_tracking")
        ),
        utterance_id=_optional_text(fields, "utterance_id"),
    )


# -- Flask glue ---------------------------------------------------------------------------------


def _pipeline() -> Pipeline:
    pipeline: Pipeline = current_app.extensions["askfirst.pipeline"]
    return pipeline


def _settings() -> Settings:
    settings: Settings = current_app.extensions["askfirst.settings"]
    return settings


def _device() -> Device:
    """The authenticated device (id, household, room) of this request."""
    return device_for(request.headers.get("Authorization"), _settings().devices())


def _json_body() -> dict[str, Any]:
    if request.mimetype != JSON:
        raise SkillError(
            f"expected Content-Type {JSON!r}, got {request.content_type!r}",
            code="unsupported_media_type",
            status=415,
        )
    return storable(decode_json(request.get_data(cache=False)))


def storable(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` unchanged, or a 422 naming the first string no store could hold."""
    bad = find_bad_text(fields)
    if bad is not None:
        raise SkillError(bad.message(), code="invalid_text", status=422)
    return fields


def decode_json(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object, or a 400 saying what arrived instead."""
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SkillError(
            f"expected a JSON object, got malformed JSON: {exc}", code="malformed_json"
        ) from None
    if not isinstance(body, dict):
        raise SkillError(
            f"expected a JSON object, got a JSON {type(body).__name__}", code="malformed_json"
        )
    return body


def _multipart_fields() -> tuple[dict[str, Any], Audio]:
    upload = request.files.get("audio")
    if upload is None:
        raise missing("audio", "a WAV file part named 'audio'")
    data = upload.read(_settings().max_body_bytes + 1)
    fields: dict[str, Any] = {key: request.form[key] for key in request.form}
    audio = audio_from(data, sample_rate=fields.pop("sample_rate", None))
    raw_capture = fields.get("capture")
    if isinstance(raw_capture, str):
        try:
            fields["capture"] = json.loads(raw_capture)
        except (ValueError, RecursionError):
            raise invalid(
                "capture", 'a JSON object {"trigger", "start", "end"}', raw_capture[:80]
            ) from None
    return storable(fields), audio


def audio_from(data: bytes, *, sample_rate: str | None) -> Audio:
    """A WAV file, or raw 16-bit little-endian mono PCM when the form declares ``sample_rate``."""
    max_seconds = _settings().max_audio_seconds
    if sample_rate is None:
        return read_wav(data, max_seconds=max_seconds)
    try:
        rate = int(sample_rate)
    except ValueError:
        raise invalid("sample_rate", "an integer rate in Hz, like 16000", sample_rate) from None
    return from_raw_pcm(data, sample_rate=rate, max_seconds=max_seconds)


@blueprint.post("/v1/utterances")
def post_utterance() -> Response:
    device = _device()
    audio: Audio | None = None
    if request.mimetype == MULTIPART:
        fields, audio = _multipart_fields()
    elif request.mimetype == JSON:
        fields = _json_body()
    else:
        raise SkillError(
            f"expected Content-Type {JSON!r} or {MULTIPART!r}, got {request.content_type!r}",
            code="unsupported_media_type",
            status=415,
        )
    turn = turn_from(fields, device=device, audio=audio, default_locale=_settings().default_locale)
    result = _pipeline().handle(turn)
    return jsonify(result.to_json())


@blueprint.post("/v1/assistant-asked")
def post_assistant_asked() -> Response:
    device_id = _device().device_id
    body = _json_body()
    if body.get("prompt_ended_at") is None:
        raise missing("prompt_ended_at", "an ISO 8601 time with a timezone")
    ended = _timestamp(body["prompt_ended_at"], "prompt_ended_at")
    window = _pipeline().assistant_asked(device_id=device_id, prompt_ended_at=ended)
    return jsonify(
        {
            "id": window.id,
            "device_id": window.device_id,
            "opened_at": window.opened_at.isoformat(),
            "expires_at": window.expires_at.isoformat(),
            "reason": window.reason,
        }
    )


@blueprint.post("/v1/declined")
def post_declined() -> Response:
    device_id = _device().device_id
    body = _json_body()
    offer_id = _optional_text(body, "offer_id")
    if offer_id is None:
        raise missing("offer_id", "the catalog id of the offer the user declined")
    user_key = Pipeline.user_key(user_id=_optional_text(body, "user_id"), device_id=device_id)
    _pipeline().declined(
        user_id=user_key, offer_id=offer_id, decision_id=_optional_text(body, "decision_id")
    )
    return jsonify({"declined": offer_id, "user": user_key})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    checks = _pipeline().readiness()
    ready = all(checks.values())
    response = jsonify({"ready": ready, **checks})
    response.status_code = 200 if ready else 503
    return response
