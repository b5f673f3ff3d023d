"""The OpenAPI 3.1 description of the device API and the Alexa endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from askfirst.core.capture import Trigger
from askfirst.turn.wire import TurnResultBody

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Malformed JSON or a request that failed verification",
        401: "Missing or malformed bearer token",
        403: "Unknown bearer token",
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


_CAPTURE = {
    "type": "object",
    "required": ["trigger", "start", "end"],
    "properties": {
        "trigger": {"enum": [t.value for t in Trigger]},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

_COMMON_FIELDS: dict[str, Any] = {
    "user_id": {"type": "string"},
    "session_id": {"type": "string"},
    "locale": {"type": "string", "examples": ["en-US", "ko-KR"]},
    "limit_ad_tracking": {"type": ["boolean", "null"]},
    "utterance_id": {"type": "string"},
}


def _generated() -> dict[str, Any]:
    """JSON schemas of the wire models, their shared parts hoisted into components."""
    keyed, top = TypeAdapter.json_schemas(
        [("TurnResult", "serialization", TypeAdapter(TurnResultBody))],
        ref_template="#/components/schemas/{model}",
    )
    del keyed  # each one is a $ref into the hoisted definitions
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    return schemas


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
                "Capture": _CAPTURE,
                **_generated(),
            },
        },
        "paths": {
            "/v1/utterances": {
                "post": {
                    "summary": "Tag, decide and record one utterance a device captured",
                    "security": [{"device": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["text", "capture"],
                                    "properties": {
                                        "text": {"type": "string"},
                                        "capture": {"$ref": "#/components/schemas/Capture"},
                                        **_COMMON_FIELDS,
                                    },
                                }
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["audio", "capture"],
                                    "properties": {
                                        "audio": {
                                            "type": "string",
                                            "contentMediaType": "audio/wav",
                                            "description": "A 16-bit PCM WAV file (mono, or "
                                            "stereo averaged to mono; 8-48 kHz), or raw 16-bit "
                                            "little-endian mono PCM when sample_rate is given",
                                        },
                                        "sample_rate": {
                                            "type": "string",
                                            "pattern": "^[0-9]+$",
                                            "description": "Declares the audio part raw PCM "
                                            "at this rate in Hz (8000-48000)",
                                        },
                                        "capture": {
                                            "type": "string",
                                            "contentMediaType": "application/json",
                                            "description": "The Capture object as JSON text",
                                        },
                                        **_COMMON_FIELDS,
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The decision for this utterance",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/TurnResultBody"}
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
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["prompt_ended_at"],
                                    "properties": {
                                        "prompt_ended_at": {"type": "string", "format": "date-time"}
                                    },
                                }
                            }
                        },
                    },
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
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["offer_id"],
                                    "properties": {
                                        "offer_id": {"type": "string"},
                                        "decision_id": {"type": "string"},
                                        "user_id": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
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
