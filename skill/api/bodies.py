"""The device API's request bodies as pydantic models: the server's parser and its OpenAPI.

Every body forbids fields it does not know (a misspelled ``limt_ad_tracking`` is a 422, not a
silently ignored flag), every string has a size limit in UTF-8 bytes (``core.limits``, the
same the store checks), and :func:`parse` turns pydantic's errors into one 422 naming the
field, what was expected and what arrived. The OpenAPI document
(``askfirst.skill.api.openapi``) is generated from these same models, so the two cannot disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from askfirst.core.capture import Trigger
from askfirst.core.limits import (
    MAX_ID_BYTES,
    MAX_LOCALE_BYTES,
    MAX_TEXT_BYTES,
    describe,
    utf8_size,
)
from askfirst.skill.errors import SkillError

MAX_TIME_CHARS = 64
"""A time is parsed, not kept: longer text is no ISO 8601 time."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""Times outside these bounds are refused: far enough from datetime's limits that windows,
retention and broadcast arithmetic on an accepted time can never overflow."""

TIME_EXPECTED = "an ISO 8601 time with a timezone like '2024-05-01T12:00:00+00:00'"
QUIET_FIELDS = frozenset({"text"})
"""Fields whose value is never quoted back (a transcript is never echoed or logged)."""

M = TypeVar("M", bound=BaseModel)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty string")
    return value


def _time(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > MAX_TIME_CHARS:
        raise ValueError(TIME_EXPECTED)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(TIME_EXPECTED) from None
    if parsed.tzinfo is None:
        raise ValueError(TIME_EXPECTED)
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"a time from {EARLIEST.isoformat()!r} up to {LATEST.isoformat()!r} (UTC)")
    return parsed


def _flag(value: object) -> object:
    """Multipart forms carry flags as text: "true"/"false" (any case) are the booleans."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _finite(value: float | None) -> float | None:  # an int is a float here
    if value is not None and not math.isfinite(value):
        raise ValueError("a finite number")
    return value


@dataclass(frozen=True, slots=True)
class Utf8Bytes:
    """At most ``limit`` bytes of UTF-8: checked on the value (a 422 ``field_too_large``) and
    stated in the JSON schema as ``x-maxBytes``, with ``maxLength`` the same number (no string
    of more characters can fit, since a character is at least one byte)."""

    limit: int

    def _check(self, value: str) -> str:
        size = utf8_size(value)
        if size > self.limit:
            raise PydanticCustomError(
                "field_too_large",
                "at most {limit} bytes of UTF-8",
                {"limit": self.limit, "size": size},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update({"maxLength": self.limit, "x-maxBytes": self.limit})
        return json_schema


Id = Annotated[
    str,
    StringConstraints(min_length=1),
    Utf8Bytes(MAX_ID_BYTES),
    AfterValidator(_non_blank),
]
Time = Annotated[datetime, BeforeValidator(_time)]
Locale = Annotated[str, StringConstraints(min_length=1), Utf8Bytes(MAX_LOCALE_BYTES)]
Flag = StrictBool | None
FormFlag = Annotated[StrictBool | None, BeforeValidator(_flag)]
Transcript = Annotated[str, Utf8Bytes(MAX_TEXT_BYTES)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class CaptureBody(_Body):
    """How the device captured the utterance. ``start``/``end`` may be left out of a
    push-to-talk or text capture: the server's arrival time is used and the record says so."""

    trigger: Trigger = Field(description="What made the device start capturing.")
    start: Time | None = Field(default=None, description="When the utterance audio began.")
    end: Time | None = Field(default=None, description="When it stopped; not before start.")
    level: Annotated[StrictFloat | StrictInt | None, AfterValidator(_finite)] = Field(
        default=None,
        description="The capture's level as the device measured it (e.g. dBFS); within one "
        "household the loudest device answers.",
    )


class _TurnFields(_Body):
    user_id: Id | None = Field(
        default=None,
        description="Who spoke, as this device's household knows them; omitted means the "
        "device's own anonymous user.",
    )
    session_id: Id | None = None
    locale: Locale | None = Field(default=None, examples=["en-US", "ko-KR"])
    limit_ad_tracking: Flag = None
    utterance_id: Id | None = Field(
        default=None,
        description="The device's id for this utterance; a retry with the same id is a 409. "
        "Scoped to the device: it is kept as '<device>/<id>'.",
    )


class UtteranceBody(_TurnFields):
    """``POST /v1/utterances`` as JSON: a text turn."""

    text: Transcript
    capture: CaptureBody


class UtteranceForm(_TurnFields):
    """``POST /v1/utterances`` as multipart: the fields beside the audio part."""

    capture: CaptureBody = Field(description="The capture object, sent as JSON text.")
    limit_ad_tracking: FormFlag = None
    sample_rate: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, description="Declares the audio part raw 16-bit mono PCM at this rate."
    )


class AssistantAskedBody(_Body):
    """``POST /v1/assistant-asked``: the assistant asked this device's user something."""

    prompt_ended_at: Time


class DeclinedBody(_Body):
    """``POST /v1/declined``: the user said no to an offer."""

    offer_id: Id = Field(description="The catalog id of the offer the user declined.")
    decision_id: Id | None = None
    user_id: Id | None = None


def parse(model: type[M], fields: dict[str, Any]) -> M:
    """``fields`` as ``model``, or a 422 naming the first wrong field."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise refusal(exc) from None


def refusal(exc: ValidationError) -> SkillError:
    """The first of pydantic's errors as a 422 saying what was expected and what arrived."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"] if not _is_union_branch(part))
    kind = error["type"]
    got = error.get("input")
    quiet = where.split(".")[-1] in QUIET_FIELDS
    shown = f"a value of type {type(got).__name__}" if quiet else repr(got)
    if kind == "missing":
        return SkillError(
            f"{where}: expected {_expected(where)}, got nothing", code="missing_field", status=422
        )
    if kind == "extra_forbidden":
        return SkillError(
            f"{where}: expected no such field (known: {_known(exc.title, where)}), got {shown}",
            code="unknown_field",
            status=422,
        )
    if kind == "field_too_large" and isinstance(got, str):
        ctx = error.get("ctx", {})
        return SkillError(
            describe(field=where, limit=ctx["limit"], size=ctx["size"], characters=len(got)),
            code="field_too_large",
            status=422,
        )
    if kind == "string_too_short" and isinstance(got, str):
        limit = error.get("ctx", {}).get("min_length")
        return SkillError(
            f"{where}: expected at least {limit} characters, got {len(got)}",
            code="invalid_field",
            status=422,
        )
    message = str(error["msg"])
    if kind == "value_error":
        expected = message.removeprefix("Value error, ")
    elif where in _EXPECTED:
        expected = _EXPECTED[where]
    else:
        expected = message.removeprefix("Input should be ").replace("a valid ", "a ", 1)
    return SkillError(
        f"{where}: expected {expected}, got {shown}", code="invalid_field", status=422
    )


def _is_union_branch(part: object) -> bool:
    """pydantic adds the union member that failed ("str", "function-after[...]") to a location."""
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "float", "bool"))


_EXPECTED = {
    "text": "a string (or send multipart with an 'audio' WAV part)",
    "capture": 'an object {"trigger", "start", "end"}',
    "capture.trigger": "one of " + ", ".join(repr(t.value) for t in Trigger),
    "capture.start": TIME_EXPECTED,
    "capture.end": TIME_EXPECTED,
    "prompt_ended_at": TIME_EXPECTED,
    "offer_id": "the catalog id of the offer the user declined",
    "limit_ad_tracking": "true, false or null",
    "capture.level": "a number (the capture's level, e.g. dBFS) or null",
    "sample_rate": "an integer rate in Hz, like 16000",
}


def _expected(where: str) -> str:
    return _EXPECTED.get(where, "a value")


_MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (CaptureBody, UtteranceBody, UtteranceForm, AssistantAskedBody, DeclinedBody)
}


def _known(title: str, where: str) -> str:
    model = _MODELS.get(title)
    if model is not None and where.startswith("capture."):
        model = CaptureBody
    return ", ".join(sorted(model.model_fields)) if model is not None else "see /openapi.json"
