"""The device API: POST /v1/utterances and friends, /openapi.json, /healthz, /readyz.

Devices authenticate with ``Authorization: Bearer <token>``; the token names the device.
Bodies are parsed into the pydantic models of ``askfirst.skill.api.bodies`` (unknown fields
refused, every string bounded), so every bad input gets a 4xx that names the field, what was
expected and what arrived; a device speaks only for its own household (``users``).
"""

from __future__ import annotations

import hmac
import json
import logging
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from askfirst.core.capture import CaptureContext, Clock, Trigger
from askfirst.core.devices import Device
from askfirst.policy.values import RequestFacts
from askfirst.skill.api.bodies import (
    TIME_EXPECTED,
    AssistantAskedBody,
    CaptureBody,
    DeclinedBody,
    M,
    UtteranceBody,
    UtteranceForm,
    parse,
)
from askfirst.skill.api.depth import check_depth
from askfirst.skill.api.openapi import document
from askfirst.skill.api.users import user_key
from askfirst.skill.errors import SkillError
from askfirst.skill.request_text import find_bad_text
from askfirst.skill.settings import Settings
from askfirst.speech.audio import Audio, from_raw_pcm, read_wav
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.values import Deferred, TurnInput

logger = logging.getLogger(__name__)

blueprint = Blueprint("device_api", __name__)

JSON = "application/json"
MULTIPART = "multipart/form-data"


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


def capture_from(
    body: CaptureBody, *, device: Device, text_turn: bool, arrived: datetime
) -> CaptureContext:
    """The capture context for ``device``. A push-to-talk or text capture may leave out its
    times: the server's arrival time stands in, and the context says so."""
    start, end = body.start, body.end
    server_clock = start is None
    if start is None:
        if body.trigger is not Trigger.PUSH_TO_TALK and not text_turn:
            raise missing(
                "capture.start", f"{TIME_EXPECTED} (only push_to_talk or text may omit it)"
            )
        start = arrived
    if end is None:
        if not server_clock and body.trigger is not Trigger.PUSH_TO_TALK and not text_turn:
            raise missing("capture.end", TIME_EXPECTED)
        end = start
    if end < start:
        raise invalid("capture.end", f"a time at or after capture.start {start.isoformat()!r}", end)
    return CaptureContext(
        trigger=body.trigger,
        device_id=device.device_id,
        household=device.household,
        start=start,
        end=end,
        level=None if body.level is None else float(body.level),
        clock=Clock.SERVER if server_clock else Clock.DEVICE,
    )


def turn_from(
    body: UtteranceBody | UtteranceForm,
    *,
    device: Device,
    audio: Audio | None,
    default_locale: str,
    devices: Iterable[Device] = (),
    arrived: datetime | None = None,
) -> TurnInput:
    """A pipeline turn from a parsed request body (JSON object or multipart form)."""
    text = body.text if isinstance(body, UtteranceBody) else None
    return TurnInput(
        device_id=device.device_id,
        capture=capture_from(
            body.capture,
            device=device,
            text_turn=text is not None,
            arrived=arrived or datetime.now(UTC),
        ),
        locale=body.locale or default_locale,
        text=text,
        audio=audio,
        user_id=user_key(device, body.user_id, devices=devices),
        session_id=body.session_id,
        request=RequestFacts(limit_ad_tracking=body.limit_ad_tracking),
        utterance_id=body.utterance_id,
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


def _json_body(model: type[M]) -> M:
    if request.mimetype != JSON:
        raise SkillError(
            f"expected Content-Type {JSON!r}, got {request.content_type!r}",
            code="unsupported_media_type",
            status=415,
        )
    return parse(model, storable(decode_json(request.get_data(cache=False))))


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
    check_depth(body)
    return body


def _multipart_fields() -> tuple[UtteranceForm, Audio]:
    upload = request.files.get("audio")
    if upload is None:
        raise missing("audio", "a WAV file part named 'audio' (or send JSON with 'text')")
    fields: dict[str, Any] = {key: request.form[key] for key in request.form}
    raw_capture = fields.get("capture")
    if isinstance(raw_capture, str):
        try:
            fields["capture"] = json.loads(raw_capture)
        except (ValueError, RecursionError):
            raise invalid(
                "capture", 'a JSON object {"trigger", "start", "end"}', raw_capture[:80]
            ) from None
    form = parse(UtteranceForm, storable(fields))
    data = upload.read(_settings().max_body_bytes + 1)
    return form, audio_from(data, sample_rate=form.sample_rate)


def audio_from(data: bytes, *, sample_rate: int | None) -> Audio:
    """A WAV file, or raw 16-bit little-endian mono PCM when the form declares ``sample_rate``."""
    max_seconds = _settings().max_audio_seconds
    if sample_rate is None:
        return read_wav(data, max_seconds=max_seconds)
    return from_raw_pcm(data, sample_rate=sample_rate, max_seconds=max_seconds)


@blueprint.post("/v1/utterances")
def post_utterance() -> Response:
    arrived = datetime.now(UTC)
    device = _device()
    audio: Audio | None = None
    body: UtteranceBody | UtteranceForm
    if request.mimetype == MULTIPART:
        body, audio = _multipart_fields()
    elif request.mimetype == JSON:
        body = _json_body(UtteranceBody)
    else:
        raise SkillError(
            f"expected Content-Type {JSON!r} or {MULTIPART!r}, got {request.content_type!r}",
            code="unsupported_media_type",
            status=415,
        )
    settings = _settings()
    turn = turn_from(
        body,
        device=device,
        audio=audio,
        default_locale=settings.default_locale,
        devices=settings.devices().values(),
        arrived=arrived,
    )
    pipeline = _pipeline()
    if not prefers_async(request.headers.get("Prefer")):
        return jsonify(pipeline.handle(turn).to_json())
    result = pipeline.handle_or_defer(turn)
    if isinstance(result, Deferred):
        response = jsonify(result.to_json())
        response.status_code = 202
        response.headers["Retry-After"] = str(max(1, math.ceil(result.retry_after)))
        response.headers["Preference-Applied"] = "respond-async"
        return response
    return jsonify(result.to_json())


def prefers_async(prefer: str | None) -> bool:
    """Whether the request says ``Prefer: respond-async`` (RFC 7240): the device would rather
    send a capture again than have a server thread wait for other devices' reports."""
    if not prefer:
        return False
    return any(part.split(";")[0].strip().lower() == "respond-async" for part in prefer.split(","))


@blueprint.post("/v1/assistant-asked")
def post_assistant_asked() -> Response:
    device_id = _device().device_id
    body = _json_body(AssistantAskedBody)
    window = _pipeline().assistant_asked(device_id=device_id, prompt_ended_at=body.prompt_ended_at)
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
    device = _device()
    body = _json_body(DeclinedBody)
    key = user_key(device, body.user_id, devices=_settings().devices().values())
    _pipeline().declined(user_id=key, offer_id=body.offer_id, decision_id=body.decision_id)
    return jsonify({"declined": body.offer_id, "user": key})


@blueprint.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())


@blueprint.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@blueprint.get("/readyz")
def readyz() -> Response:
    checks: dict[str, bool] = current_app.extensions["askfirst.readiness"]()
    ready = all(checks.values())
    response = jsonify({"ready": ready, **checks})
    response.status_code = 200 if ready else 503
    return response
