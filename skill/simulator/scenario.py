"""The scenario format: a household's utterances in time order, with optional expectations.

A scenario is YAML (one document: name, locale, policy, users, events) or JSON Lines (one
event per line). Loading never raises anything but :class:`ScenarioError`, whose message names
the file, the event index and line, the field and what was wrong.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from askfirst.skill.errors import SkillError

TriggerName = Literal["none", "wake_word", "push_to_talk", "follow_up"]
TagName = Literal["prompted", "ambient"]
OutcomeName = Literal["alone", "answering", "answered_elsewhere", "broadcast", "known_media"]
KINDS = ("say", "audio", "assistant_asks", "intent", "decline")
"""The fields that say what an event is; each event has exactly one of them."""
MAX_AT_SECONDS = 400 * 24 * 3600.0
"""The latest an event may happen: a scenario spans at most 400 days (a year of traffic, with
room for a quarter's rehearsal to start mid-year)."""
_SPAN = re.compile(
    r"^\s*(?:(?P<d>\d+(?:\.\d+)?)\s*d)?\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?"
    r"\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*$"
)
_SPAN_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
MAX_DURATION_SECONDS = 3600.0
"""The longest an utterance may last (the server refuses audio far shorter than this)."""


class ScenarioError(SkillError):
    """A scenario file that cannot be used; the message names file, event, line and field."""

    code = "bad_scenario"


class Expect(BaseModel):
    """Assertions about one event's outcome; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tag: TagName | None = None
    """The tag the utterance must get."""
    tag_reason: str | None = None
    """A reason code that must be among the tag's reasons, e.g. "broadcast"."""
    offer: bool | str | None = None
    """true: some offer was permitted; false: none was; a string: that catalog id was offered."""
    rule: str | None = None
    """The deciding rule id, e.g. "R1.prompted", or "permit"."""
    question: bool | str | None = None
    """A topic the detected question must have; true: any question; false: no question."""
    command: str | None = None
    """The consent command detected: "opt_out", "opt_in" or "why"."""
    outcome: OutcomeName | None = None
    """What other devices made of the capture: "alone", "answering", "answered_elsewhere",
    "broadcast" or "known_media"."""


class UserProfile(BaseModel):
    """What is known about a household member before the scenario starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    child_profile: bool = False
    """The user is a child: no offer may be made to them."""
    limit_ad_tracking: bool | None = None
    """The device's limit-ad-tracking flag for this user's requests."""


class DeviceProfile(BaseModel):
    """Where a device listens: its household (and room). Default: a household of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    household: str | None = Field(default=None, min_length=1)
    """Devices naming the same household hear one home: the same sound on two of them is one
    person heard twice (one answers); the same sound in two households is a broadcast."""
    room: str | None = Field(default=None, min_length=1)


class Event(BaseModel):
    """One thing that happens: someone speaks, the assistant asks, an Alexa intent, a decline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: float = Field(ge=0, le=MAX_AT_SECONDS, allow_inf_nan=False)
    """Seconds from the start of the scenario (at most 400 days), or a span such as
    ``"3d 9h 15m"`` (days, hours, minutes, seconds; each part optional)."""
    device: str = Field(default="default", min_length=1)
    user: str | None = None
    """Who speaks; default the scenario's ``user``."""
    session: str | None = None
    """The session id the request carries (frequency caps count per session)."""
    locale: str | None = None
    """Default: the scenario's locale."""
    say: str | None = None
    """Text, as if transcribed."""
    audio: str | None = None
    """A WAV file (path relative to the scenario file), transcribed with Vosk."""
    assistant_asks: str | None = None
    """The assistant's own prompt on ``device``: opens a follow-up listening window."""
    intent: str | None = None
    """An Alexa intent name, as Alexa would send it (prompted by construction)."""
    slots: dict[str, str] = Field(default_factory=dict)
    """The intent's slot values, e.g. {product: coffee}."""
    decline: str | None = None
    """The user declines this offer id (an upsell answered "no"): never offered again."""
    trigger: TriggerName = "none"
    """What made the device capture ``say``/``audio``."""
    duration: float | None = Field(default=None, gt=0, le=MAX_DURATION_SECONDS, allow_inf_nan=False)
    """How long the utterance lasted in seconds (at most an hour); default from its words."""
    limit_ad_tracking: bool | None = None
    level: float | None = Field(default=None, allow_inf_nan=False)
    """The capture's level as the device measured it (dBFS; higher is stronger)."""
    expect: Expect | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _span(cls, value: object) -> object:
        """``"2d 9h"`` -> seconds; numbers pass through to the float check."""
        if not isinstance(value, str):
            return value
        try:
            float(value)  # YAML reads 1.0e12 as a string: a number, left to the float check
            return value
        except ValueError:
            pass
        match = _SPAN.match(value)
        if match is None or not any(match.groupdict().values()):
            raise ValueError(
                "expected seconds or a span like '3d 9h 15m 5s' (days, hours, minutes, "
                f"seconds), got {value!r}"
            )
        return sum(
            float(amount) * _SPAN_SECONDS[unit]
            for unit, amount in match.groupdict().items()
            if amount is not None
        )

    @model_validator(mode="after")
    def _one_kind(self) -> Event:
        present = [name for name in KINDS if getattr(self, name) is not None]
        if len(present) != 1:
            raise ValueError(
                f"expected exactly one of {', '.join(KINDS)}, got "
                + (", ".join(present) if present else "none of them")
            )
        spoken = self.say is not None or self.audio is not None
        if not spoken and self.trigger != "none":
            raise ValueError(f"trigger applies to say/audio only, got trigger with {present[0]}")
        if self.slots and self.intent is None:
            raise ValueError("slots apply to intent only")
        if self.expect is not None and present[0] in ("assistant_asks", "decline"):
            raise ValueError(f"expect applies to utterances and intents, not {present[0]}")
        return self

    @property
    def kind(self) -> str:
        """Which of :data:`KINDS` this event is."""
        return next(name for name in KINDS if getattr(self, name) is not None)


class Scenario(BaseModel):
    """A named sequence of events played through the pipeline in time order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str | None = None
    locale: str = "en-US"
    start: datetime | date | None = None
    """When ``at: 0`` is: a date (its midnight UTC) or a time with its UTC offset. Default:
    01:00 UTC today. ``askfirst simulate --start`` overrides it."""
    policy: str | None = None
    """A policy file relative to the scenario file; default the bundled example policy."""
    user: str | None = None
    """The default speaker for events that name none."""
    users: dict[str, UserProfile] = Field(default_factory=dict)
    devices: dict[str, DeviceProfile] = Field(default_factory=dict)
    """Device name -> its household and room; a device not listed is a household of its own."""
    events: list[Event] = Field(min_length=1)

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | date | None) -> datetime | date | None:
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise ValueError(
                "expected a date or a time with its UTC offset (e.g. 2026-01-05T09:00:00Z), "
                f"got the local time {value.isoformat()!r}"
            )
        return value

    @property
    def start_time(self) -> datetime | None:
        """``start`` as an aware datetime (a date is its midnight UTC)."""
        return start_time(self.start)

    @model_validator(mode="after")
    def _in_time_order(self) -> Scenario:
        for index in range(1, len(self.events)):
            if self.events[index].at < self.events[index - 1].at:
                raise ValueError(
                    f"events must be in time order: event {index} at "
                    f"{self.events[index].at!r} comes before event {index - 1} at "
                    f"{self.events[index - 1].at!r}"
                )
        return self


def start_time(value: datetime | date | None) -> datetime | None:
    """A scenario start as an aware UTC datetime: a date is its midnight UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.combine(value, time(0, 0), tzinfo=UTC)


def parse_start(text: str) -> datetime:
    """``--start``: a date (YYYY-MM-DD, its midnight UTC) or an ISO time with a UTC offset."""
    try:
        value: datetime | date = (
            date.fromisoformat(text) if len(text.strip()) == 10 else datetime.fromisoformat(text)
        )
    except ValueError:
        raise ScenarioError(
            f"--start: expected a date (2026-01-05) or a time with its UTC offset "
            f"(2026-01-05T09:00:00Z), got {text!r}"
        ) from None
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ScenarioError(
            f"--start: expected a time with its UTC offset (…Z or …+09:00), got {text!r}"
        )
    result = start_time(value)
    assert result is not None
    return result


class LoadedScenario(BaseModel):
    """A validated scenario plus where it came from (to resolve relative paths)."""

    model_config = ConfigDict(frozen=True)

    scenario: Scenario
    source: Path
    lines: tuple[int, ...]
    """The 1-based line each event starts on."""

    def resolve(self, relative: str) -> Path:
        """A path from the scenario file, relative to the file's directory."""
        path = Path(relative)
        return path if path.is_absolute() else self.source.parent / path


def schema() -> dict[str, Any]:
    """The JSON Schema of the scenario format (committed as schemas/scenario.schema.json)."""
    result = Scenario.model_json_schema()
    result["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    result["$id"] = "https://askfirst.invalid/schemas/scenario.schema.json"
    return result


def load_scenario(path: Path, *, jsonl: bool | None = None) -> LoadedScenario:
    """Read a YAML scenario or (``jsonl`` or a ``.jsonl`` suffix) a JSON Lines event batch."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc}") from exc
    if jsonl if jsonl is not None else path.suffix == ".jsonl":
        return _load_jsonl(text, path)
    return _load_yaml(text, path)


def _load_yaml(text: str, path: Path) -> LoadedScenario:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ScenarioError(f"{path}: {where}expected YAML, got a syntax error: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{path}: expected a mapping with name and events, got {type(data).__name__}"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, path, root)) from exc
    lines = tuple(_line_of(root, ("events", index)) or 0 for index in range(len(scenario.events)))
    return _checked(LoadedScenario(scenario=scenario, source=path, lines=lines))


def _checked(loaded: LoadedScenario) -> LoadedScenario:
    """Refuse a scenario whose policy or audio files are missing, before anything runs."""
    if loaded.scenario.policy is not None and not loaded.resolve(loaded.scenario.policy).is_file():
        raise ScenarioError(
            f"{loaded.source}: policy: expected a policy file, got "
            f"{str(loaded.resolve(loaded.scenario.policy))!r}, which does not exist"
        )
    for index, event in enumerate(loaded.scenario.events):
        if event.audio is not None and not loaded.resolve(event.audio).is_file():
            raise ScenarioError(
                f"{loaded.source}: line {loaded.lines[index]}: event {index}: "
                f"events[{index}].audio: expected a WAV file, got "
                f"{str(loaded.resolve(event.audio))!r}, which does not exist"
            )
    return loaded


def _load_jsonl(text: str, path: Path) -> LoadedScenario:
    events: list[Event] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number} (event {len(events)})"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(
                f"{where}: expected a JSON object, got invalid JSON: {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise ScenarioError(f"{where}: expected a JSON object, got {type(data).__name__}")
        try:
            events.append(Event.model_validate(data))
        except ValidationError as exc:
            raise ScenarioError(f"{where}: " + "; ".join(_problems(exc.errors()))) from exc
        if events[-1].at < (events[-2].at if len(events) > 1 else 0.0):
            raise ScenarioError(
                f"{where}: at: expected events in time order (>= {events[-2].at!r}), "
                f"got {events[-1].at!r}"
            )
        lines.append(number)
    if not events:
        raise ScenarioError(f"{path}: expected at least one event line, got an empty file")
    scenario = Scenario(name=path.stem, events=events)
    return _checked(LoadedScenario(scenario=scenario, source=path, lines=tuple(lines)))


def _describe(error: ValidationError, path: Path, root: yaml.Node | None) -> str:
    parts = []
    for item in error.errors():
        loc = tuple(item["loc"])
        line = _line_of(root, loc)
        where = f"line {line}: " if line else ""
        if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int):
            where += f"event {loc[1]}: "
        parts.append(f"{path}: {where}{_problem(item)}")
    return "\n".join(parts)


def _problems(errors: Sequence[ErrorDetails]) -> list[str]:
    return [_problem(item) for item in errors]


def _problem(item: ErrorDetails) -> str:
    loc = tuple(item["loc"])
    field = _field_path(loc)
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "missing":
        return f"{field}: required field is missing"
    if item["type"] == "extra_forbidden":
        hint = _did_you_mean(loc)
        return (
            f"{field}: unknown field (value {item['input']!r}){hint}; "
            "see schemas/scenario.schema.json"
        )
    if item["type"] == "value_error":
        return f"{field}: {message}" if field else message
    return f"{field}: {message}, got {item['input']!r}"


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    """``; did you mean 'offer'?`` for a misspelt key, from the fields allowed where it stands."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    parents = [part for part in loc[:-1] if isinstance(part, str)]
    model: type[BaseModel] = Scenario
    if parents[-1:] == ["expect"]:
        model = Expect
    elif parents[:1] == ["events"] or (not parents and isinstance(loc[0], int)):
        model = Event
    elif parents[:1] == ["users"]:
        model = UserProfile
    elif parents[:1] == ["devices"]:
        model = DeviceProfile
    close = difflib.get_close_matches(loc[-1], list(model.model_fields), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("bool", "str", "float", "int"):
            continue  # pydantic's union-member labels, not fields
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or its nearest existing parent)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
