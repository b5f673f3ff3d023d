"""The OpenAPI 3.1 description of the device API and the Alexa endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from askfirst.skill.api.bodies import (
    AssistantAskedBody,
    DeclinedBody,
    UtteranceBody,
    UtteranceForm,
)
from askfirst.turn.wire import DeferredBody, TurnResultBody

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Malformed JSON or a request that failed verification",
        401: "Missing or malformed bearer token",
        403: "Unknown bearer token, or a user_id outside the device's household",
        409: "The utterance_id was already decided for this device (a retry)",
        429: "Too many requests in flight for this device or the recogniser pool; see Retry-After",
        413: "Body larger than the configured limit",
        415: "Unsupported Content-Type",
        422: "A missing or invalid field, or bad audio (the code says which)",
        503: "The decision store or the speech model is unavailable; nothing was offered",
    }
    return {
        str(status): {
            "description": meaning[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
        for status in statuses
    }


_MODELS: list[tuple[str, JsonSchemaMode, type[BaseModel]]] = [
    ("UtteranceBody", "validation", UtteranceBody),
    ("UtteranceForm", "validation", UtteranceForm),
    ("AssistantAskedBody", "validation", AssistantAskedBody),
    ("DeclinedBody", "validation", DeclinedBody),
    ("TurnResultBody", "serialization", TurnResultBody),
    ("DeferredBody", "serialization", DeferredBody),
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _generated() -> dict[str, Any]:
    """JSON schemas of the request and result models, shared parts hoisted into components."""
    keyed, top = TypeAdapter.json_schemas(
        [(name, mode, TypeAdapter(model)) for name, mode, model in _MODELS],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    for (name, _mode), schema in keyed.items():
        if schema.get("$ref") != _ref(name)["$ref"]:
            schemas[name] = schema
    schemas["UtteranceForm"] = _as_form(schemas["UtteranceForm"])
    return schemas


def _as_form(schema: dict[str, Any]) -> dict[str, Any]:
    """The multipart encoding of :class:`UtteranceForm`: every part is text, plus the audio."""
    properties = dict(schema["properties"])
    properties["capture"] = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": _ref("CaptureBody"),
        "description": "The capture object as JSON text",
    }
    properties["sample_rate"] = {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Declares the audio part raw 16-bit little-endian mono PCM at this rate "
        "in Hz (8000-48000)",
    }
    properties["limit_ad_tracking"] = {"enum": ["true", "false"]}
    properties["audio"] = {
        "type": "string",
        "contentMediaType": "audio/wav",
        "description": "A 16-bit PCM WAV file (mono, or stereo averaged to mono; 8-48 kHz), "
        "or raw PCM when sample_rate is given",
    }
    return {**schema, "properties": properties, "required": ["audio", "capture"]}


def _body(*content: tuple[str, str]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {media: {"schema": _ref(name)} for media, name in content},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "askfirst",
            "version": "1",
            "description": "Offers only as the answer to an explicit question; "
            "overheard speech is never evidence.",
        },
        "components": {
            "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                **_generated(),
            },
        },
        "paths": {
            "/v1/utterances": {
                "post": {
                    "summary": "Tag, decide and record one utterance a device captured",
                    "security": [{"device": []}],
                    "parameters": [
                        {
                            "name": "Prefer",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "examples": ["respond-async"]},
                            "description": "respond-async (RFC 7240): a capture a loudspeaker "
                            "could have caused (wake word) waits BROADCAST_HOLD_SECONDS from its "
                            "first report for other devices to report the same sound; with this "
                            "header it is answered 202 at once instead of holding a server "
                            "thread: send the capture again with the returned utterance_id "
                            "after Retry-After (it keeps its first report's place and time)",
                        }
                    ],
                    "requestBody": _body(
                        ("application/json", "UtteranceBody"),
                        ("multipart/form-data", "UtteranceForm"),
                    ),
                    "responses": {
                        "200": {
                            "description": "The decision for this utterance",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/TurnResultBody"}
                                }
                            },
                        },
                        "202": {
                            "description": "Prefer: respond-async, and other devices may still "
                            "report the same sound: send the capture again after Retry-After",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/DeferredBody"}
                                }
                            },
                        },
                        **_errors(400, 401, 403, 413, 415, 422, 503),
                    },
                }
            },
            "/v1/assistant-asked": {
                "post": {
                    "summary": "The assistant asked this device's user something: open a "
                    "single-use follow-up listening window",
                    "security": [{"device": []}],
                    "requestBody": _body(("application/json", "AssistantAskedBody")),
                    "responses": {
                        "200": {"description": "The window that was opened"},
                        **_errors(400, 401, 403, 415, 422, 503),
                    },
                }
            },
            "/v1/declined": {
                "post": {
                    "summary": "The user declined an offer: it is not offered to them again",
                    "security": [{"device": []}],
                    "requestBody": _body(("application/json", "DeclinedBody")),
                    "responses": {
                        "200": {"description": "Recorded"},
                        **_errors(400, 401, 403, 415, 422, 503),
                    },
                }
            },
            "/alexa": {
                "post": {
                    "summary": "Alexa custom-skill endpoint (signed requests from Alexa only)",
                    "responses": {
                        "200": {"description": "An Alexa response envelope"},
                        **_errors(400, 413, 415),
                    },
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "Up"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: 200 once the speech models are loaded",
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": {"description": "Models still loading"},
                    },
                }
            },
        },
    }
