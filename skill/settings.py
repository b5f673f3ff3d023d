"""Server settings: environment variables (prefix ``ASKFIRST_``) and an optional TOML file."""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as EnvParseError

from askfirst.core.capture import Trigger
from askfirst.core.devices import Device
from askfirst.core.limits import MAX_NAME_BYTES, utf8_size
from askfirst.policy.config import EXAMPLE_POLICY_PATH
from askfirst.skill.errors import SkillError
from askfirst.turn.config import TurnConfig

MIN_CONSOLE_TOKEN = 16
"""The shortest operator token the console accepts (a guessable token is no lock)."""


SECRET_FIELDS = frozenset({"console_tokens", "console_secret", "broadcast_key", "device_tokens"})
"""Settings whose values an error message never repeats."""


class SettingsError(SkillError):
    """A setting that is missing or malformed; the message names the setting."""

    code = "bad_settings"


class WyomingListener(BaseModel):
    """Who is behind one ``askfirst wyoming --uri``: the identity of turns with no better one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, max_length=256)
    household: str | None = Field(default=None, min_length=1, max_length=256)
    """The home it listens in (default: a household of one, named by the device id)."""
    room: str | None = Field(default=None, min_length=1, max_length=256)
    trigger: Trigger = Trigger.WAKE_WORD
    """The trigger of a turn whose peer said nothing about it (Home Assistant never does)."""
    wake_word_removed: bool = True
    """The peer's wake-word engine verified the wake word and cut it from the audio, as Home
    Assistant and wyoming-satellite do; the transcript is then read as the words after it."""


class WyomingDevice(BaseModel):
    """An askfirst device for one Home Assistant ``device_id`` or satellite entity id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device_id: str = Field(min_length=1, max_length=256)
    household: str | None = Field(default=None, min_length=1, max_length=256)
    """Default: the household of the listener the turn arrived on."""
    room: str | None = Field(default=None, min_length=1, max_length=256)


def _fits_a_key(value: str) -> str:
    size = utf8_size(value)
    if size > MAX_NAME_BYTES:
        raise ValueError(f"at most {MAX_NAME_BYTES} bytes of UTF-8, got {size} bytes")
    return value


DeviceName = Annotated[str, Field(min_length=1), AfterValidator(_fits_a_key)]
"""A device-API device id or household: bounded, so every key the server builds from one
(``household:<home>:<user>``, ``<device>/<utterance>``) fits the store's ``MAX_KEY_BYTES``."""


class DeviceEntry(BaseModel):
    """A token's device: ``{"device": "kitchen", "household": "flat-12", "room": "..."}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: DeviceName
    household: DeviceName | None = None
    """Default: a household of one, named by the device id."""
    room: str | None = Field(default=None, min_length=1)

    def identity(self) -> Device:
        return Device(
            device_id=self.device, household=self.household or self.device, room=self.room
        )


class Settings(BaseSettings):
    """Everything the server, the simulator and the CLI can be configured with."""

    model_config = SettingsConfigDict(env_prefix="ASKFIRST_", extra="forbid", frozen=True)

    policy_path: Path = EXAMPLE_POLICY_PATH
    """The policy file: catalog, caps, locales."""
    store_url: str = "sqlite:///askfirst.db"
    """SQLAlchemy-style URL: ``sqlite:///file.db`` or ``postgresql://user@host/db``.

    SQLite commits durably by default (``synchronous=full``); ``sqlite:///file.db?synchronous=
    normal`` is faster and survives a killed process, but may lose the last decisions and
    their audit records on power loss or an OS crash."""
    store_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    """The deadline of every database call (connect, lock, statement, unacknowledged TCP):
    a stalled database answers 503 in about this long instead of hanging the request."""
    checkpoint_dir: Path | None = None
    """The audit checkpoint history, outside the database (needs ``audit_key_file``)."""
    checkpoint_every: int = Field(default=1000, ge=1)
    audit_key_file: Path | None = None
    """The audit key, outside the database: every record gets an HMAC under it, and
    checkpoints are keyed with it (``askfirst audit new-key FILE`` makes one)."""
    vosk_model: Path | None = None
    """The en-US Vosk model directory (``ASKFIRST_VOSK_MODEL``)."""
    vosk_models: dict[str, Path] = Field(default_factory=dict)
    """Locale -> Vosk model directory, for other locales (``{"ko-KR": "/models/ko"}``)."""
    pool_size: int | None = Field(default=None, ge=1)
    """Warm recognizers per sample rate; default one per core."""
    max_audio_seconds: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=2_000_000, gt=0)
    body_read_seconds: float = Field(default=10.0, gt=0)
    """A request body must arrive within this long (408 otherwise): a slow sender cannot pin a
    worker thread."""
    max_body_reads: int = Field(default=4, ge=1)
    """Bodies from senders not yet authenticated (``/alexa``) read at once per process; more
    are a 503 with Retry-After."""
    device_concurrency: int = Field(default=4, ge=1)
    """Requests one device may have in flight per process; more are a 429 with Retry-After."""
    audio_concurrency: int | None = Field(default=None, ge=1)
    """Audio turns in flight per process; default one less than the recogniser pool
    (``pool_size``, else one per core), at least one. More are a 429 with Retry-After, so text
    turns keep their threads and a core."""
    device_tokens: dict[str, DeviceName | DeviceEntry] = Field(default_factory=dict)
    """Bearer token -> the device it names: ``{"tok": {"device": "kitchen", "household":
    "flat-12", "room": "kitchen"}}``, or the older ``{"tok": "kitchen"}`` (a household of one)."""
    alexa_skill_ids: list[str] = Field(default_factory=list)
    alexa_verify: bool = True
    """Verify Alexa request signatures; turn off only for local development."""
    alexa_trust_roots: Path | None = None
    """A PEM bundle of root certificates to trust instead of the system's (tests)."""
    alexa_cert_files: dict[str, Path] = Field(default_factory=dict)
    """Certificate-chain URL -> local PEM file, served instead of fetching (tests, air-gapped)."""
    listening_window_seconds: float = Field(default=8.0, gt=0)
    broadcast_window_seconds: float = Field(default=1.5, ge=0)
    broadcast_hold_seconds: float = Field(default=0.5, ge=0)
    """How long a wake-word turn waits (from its arrival) for other devices to report the same
    sound; reports of one broadcast arriving further apart than this are not matched for the
    earlier device."""
    max_capture_skew_seconds: float = Field(default=300.0, gt=0)
    """Device capture times further than this from the server's clock are refused (422)."""
    broadcast_key: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(32)))
    """HMAC key for broadcast fingerprints; set the same value on every instance."""
    retention_days: int = Field(default=30, ge=1)
    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics`` (``ASKFIRST_METRICS=false`` turns it off)."""
    console_tokens: list[SecretStr] = Field(default_factory=list)
    """Operator tokens for the console at ``/console`` (a JSON list); empty: no console."""
    console_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_hex(32)))
    """Key signing console session cookies; set the same value on every instance."""
    default_locale: str = "en-US"
    wyoming_listeners: dict[str, WyomingListener] = Field(default_factory=dict)
    """``askfirst wyoming`` URI -> the device (and household) its unidentified turns belong to."""
    wyoming_devices: dict[str, WyomingDevice] = Field(default_factory=dict)
    """Home Assistant ``device_id`` or satellite entity id -> askfirst device and household."""

    @field_validator("store_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError(f"expected a sqlite:/// or postgresql:// URL, got {value!r}")
        return value

    @field_validator("console_tokens")
    @classmethod
    def _long_tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        for index, token in enumerate(value):
            if len(token.get_secret_value()) < MIN_CONSOLE_TOKEN:
                raise ValueError(
                    f"console token {index}: expected at least {MIN_CONSOLE_TOKEN} characters, "
                    f"got {len(token.get_secret_value())}"
                )
        return value

    def turn_config(self) -> TurnConfig:
        """The part of these settings one turn needs."""
        return TurnConfig(
            broadcast_key=self.broadcast_key.get_secret_value().encode(),
            broadcast_window_seconds=self.broadcast_window_seconds,
            broadcast_hold_seconds=self.broadcast_hold_seconds,
            listening_window_seconds=self.listening_window_seconds,
            max_capture_skew_seconds=self.max_capture_skew_seconds,
            max_audio_seconds=self.max_audio_seconds,
        )

    def devices(self) -> dict[str, Device]:
        """Bearer token -> the device identity it authenticates."""
        return {
            token: Device.alone(entry) if isinstance(entry, str) else entry.identity()
            for token, entry in self.device_tokens.items()
        }

    def model_dirs(self) -> dict[str, Path]:
        """Locale -> model directory, with ``vosk_model`` as the en-US entry."""
        dirs = dict(self.vosk_models)
        if self.vosk_model is not None:
            dirs.setdefault("en-US", self.vosk_model)
        return dirs


def _describe(error: ValidationError, source: str) -> str:
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"] if "[" not in str(part)]  # no union branches
        if len(loc) > 1 and loc[0] in SECRET_FIELDS and isinstance(item["loc"][1], str):
            loc[1] = "<token>"  # a token map's keys are secrets too
        field = ".".join(loc) or "(settings)"
        name = field.split(".")[0]
        env = f"ASKFIRST_{name.upper()}"
        got = "(hidden)" if name in SECRET_FIELDS else repr(item.get("input"))
        problems.append(f"{field} (env {env}): {item['msg']}, got {got}")
    return f"{source}: " + "; ".join(problems)


_JSON_SHAPES: dict[type, str] = {dict: "a JSON object", list: "a JSON list", tuple: "a JSON list"}


def _describe_unparsable(error: EnvParseError) -> str:
    """One line for an ``ASKFIRST_*`` variable whose value is not the JSON its setting needs."""
    found = re.search(r'field "(\w+)"', str(error))
    name = found.group(1) if found else "?"
    env = f"ASKFIRST_{name.upper()}"
    field = Settings.model_fields.get(name)
    origin = getattr(field.annotation, "__origin__", None) if field is not None else None
    expected = _JSON_SHAPES.get(origin, "JSON") if isinstance(origin, type) else "JSON"
    raw = os.environ.get(env)
    got = "(hidden)" if name in SECRET_FIELDS else repr(raw)
    return f"{env}: expected {expected}, got {got} (not valid JSON)"


def load_settings(file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, overridden by ``file`` (TOML), overridden by ``overrides``.

    ``file`` defaults to ``$ASKFIRST_SETTINGS_FILE`` when that is set.
    """
    values: dict[str, Any] = {}
    source = "environment"
    path = file or (
        Path(os.environ["ASKFIRST_SETTINGS_FILE"])
        if os.environ.get("ASKFIRST_SETTINGS_FILE")
        else None
    )
    if path is not None:
        source = str(path)
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"{path}: cannot read settings file: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: expected TOML, got a syntax error: {exc}") from exc
    values.update(overrides)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, source)) from exc
    except EnvParseError as exc:
        raise SettingsError(_describe_unparsable(exc)) from exc
    return settings
