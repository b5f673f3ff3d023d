"""The simulator's ``--url`` backend: the same events sent to a running server's device API.

Utterances a server might see overlap (a broadcast heard by several devices) are sent
concurrently, as real devices would, so the server's broadcast hold sees them all.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import requests

from askfirst.skill.errors import SkillError
from askfirst.skill.simulator.runner import Backend, Spoken
from askfirst.skill.simulator.scenario import Event, LoadedScenario, ScenarioError

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30.0


class ServerError(SkillError):
    """The server refused a request or could not be reached; the message says which and why."""

    code = "server_error"


class OverHttp(Backend):
    """Sends events to ``url`` (``/v1/utterances``, ``/v1/assistant-asked``, ``/v1/declined``)."""

    def __init__(
        self,
        url: str,
        tokens: Mapping[str, str],
        *,
        default_token: str | None,
        run_id: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.tokens = dict(tokens)
        self.default_token = default_token
        self.run_id = run_id
        """Prefixed to every user and session id, so a second run starts with fresh caps."""
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="askfirst-sim-http")

    @classmethod
    def for_scenario(
        cls, loaded: LoadedScenario, url: str, token_args: list[str], *, run_id: str | None = None
    ) -> OverHttp:
        """A backend after checking the scenario uses only what the device API offers.

        Every device needs its own token once there are several: one token makes them one
        device on the server, which then cannot tell a broadcast from one device hearing twice.
        """
        tokens: dict[str, str] = {}
        default: str | None = None
        for arg in token_args:
            device, sep, token = arg.partition("=")
            if sep and device and token:
                tokens[device] = token
            elif not sep and arg:
                default = arg
            else:
                raise ScenarioError(f"--token: expected TOKEN or DEVICE=TOKEN, got {arg!r}")
        scenario = loaded.scenario
        devices = sorted({event.device for event in scenario.events})
        missing = [d for d in devices if d not in tokens]
        if missing and default is None:
            raise ScenarioError(
                f"--token: expected a token for every device {devices!r}, got none for "
                f"{missing!r} (give --token DEVICE=TOKEN, or one --token for all)"
            )
        shared = [d for d in missing if len(devices) > 1]
        if shared:
            raise ScenarioError(
                f"--token: expected one --token DEVICE=TOKEN per device for a scenario with "
                f"devices {devices!r}, got one token for {shared!r}; a single token makes them "
                "one device on the server (broadcasts and households would not be detected)"
            )
        children = [name for name, profile in scenario.users.items() if profile.child_profile]
        if children:
            raise ScenarioError(
                f"{loaded.source}: users.{children[0]}.child_profile: the device API cannot set "
                "a child profile; run this scenario in-process (without --url)"
            )
        for index, event in enumerate(scenario.events):
            if event.intent is not None:
                raise ScenarioError(
                    f"{loaded.source}: line {loaded.lines[index]}: event {index}: intent: "
                    "Alexa intents reach a server only as signed /alexa requests, which carry no "
                    "decision back; run this scenario in-process (without --url)"
                )
        return cls(url, tokens, default_token=default, run_id=run_id)

    def _named(self, name: str) -> str:
        """A user or session id in this run's namespace."""
        return name if self.run_id is None else f"{self.run_id}.{name}"

    def _headers(self, device_id: str) -> dict[str, str]:
        token = self.tokens.get(device_id, self.default_token)
        return {"Authorization": f"Bearer {token}"}

    def _post(self, path: str, device_id: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.url}{path}"
        for attempt in range(BUSY_RETRIES + 1):
            try:
                response = requests.post(
                    url, headers=self._headers(device_id), timeout=TIMEOUT_SECONDS, **kwargs
                )
            except requests.RequestException as exc:
                raise ServerError(f"POST {url}: expected a response, got {exc}") from exc
            if response.status_code not in (429, 503) or attempt == BUSY_RETRIES:
                break
            # Busy (admission control) or briefly unavailable: nothing was decided; wait as
            # the server asks and send the same request again.
            time.sleep(_retry_after(response.headers.get("Retry-After")))
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            detail = body.get("error") if isinstance(body, dict) else None
            message = detail.get("message") if isinstance(detail, dict) else response.text[:200]
            raise ServerError(
                f"POST {url} for device {device_id!r}: expected 2xx JSON, got "
                f"{response.status_code}: {message}"
            )
        return body

    def hear(self, spoken: Spoken) -> Future[dict[str, Any]]:
        fields: dict[str, Any] = {
            "capture": {
                "trigger": spoken.trigger,
                "start": spoken.start.isoformat(),
                "end": spoken.end.isoformat(),
                **({} if spoken.level is None else {"level": spoken.level}),
            },
            "locale": spoken.locale,
        }
        if spoken.user_id is not None:
            fields["user_id"] = self._named(spoken.user_id)
        if spoken.session_id is not None:
            fields["session_id"] = self._named(spoken.session_id)
        if spoken.limit_ad_tracking is not None:
            fields["limit_ad_tracking"] = spoken.limit_ad_tracking
        if spoken.audio is None:
            fields["text"] = spoken.text
            return self._pool.submit(self._post, "/v1/utterances", spoken.device_id, json=fields)
        form = {
            key: json.dumps(value) if isinstance(value, dict | bool) else str(value)
            for key, value in fields.items()
        }
        files = {"audio": ("utterance.wav", spoken.audio, "audio/wav")}
        return self._pool.submit(
            self._post, "/v1/utterances", spoken.device_id, data=form, files=files
        )

    def decide(self, handle: object) -> dict[str, Any]:
        if not isinstance(handle, Future):
            raise TypeError(f"expected a Future, got {type(handle).__name__}")
        result: dict[str, Any] = handle.result()
        return result

    def intent(
        self, *, event: Event, at: datetime, user_id: str | None, locale: str, lat: bool | None
    ) -> dict[str, Any]:
        raise ScenarioError("intent events need the in-process simulator (run without --url)")

    def assistant_asked(self, *, device_id: str, prompt_ended_at: datetime) -> None:
        self._post(
            "/v1/assistant-asked",
            device_id,
            json={"prompt_ended_at": prompt_ended_at.isoformat()},
        )

    def declined(
        self, *, device_id: str, user_id: str, offer_id: str, decision_id: str | None
    ) -> None:
        self._post(
            "/v1/declined",
            device_id,
            json={
                "user_id": self._named(user_id),
                "offer_id": offer_id,
                "decision_id": decision_id,
            },
        )

    def set_clock(self, now: datetime) -> None:
        """The server keeps its own clock; capture times carry the scenario's times."""

    def set_child_profile(self, user_id: str) -> None:
        raise ScenarioError("child profiles need the in-process simulator (run without --url)")

    def close(self) -> None:
        self._pool.shutdown(wait=True)


BUSY_RETRIES = 5
"""How often a 429 or 503 with Retry-After is retried before it is reported."""


def _retry_after(value: str | None) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds form), 1 s when absent or odd."""
    try:
        seconds = float(value) if value is not None else 1.0
    except ValueError:
        return 1.0
    return min(max(seconds, 0.1), 10.0)
