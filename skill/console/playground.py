"""The console's playground: a pasted scenario run exactly as ``askfirst simulate`` runs it.

Same loader, same in-process backend, same runner; the store is a throw-away SQLite file that
is deleted afterwards, never the server's. A pasted scenario may not name files on the server:
``policy`` (the server's policy is used) and ``audio`` events are refused before loading.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml

from askfirst.core.errors import CoreError
from askfirst.policy.errors import PolicyError
from askfirst.skill.settings import Settings
from askfirst.skill.simulator.inprocess import InProcess
from askfirst.skill.simulator.runner import Report, simulate
from askfirst.skill.simulator.scenario import ScenarioError, load_scenario
from askfirst.store.errors import StoreError
from askfirst.turn.errors import TurnError
from askfirst.turn.transcribers import TranscriberSet

Format = Literal["auto", "yaml", "jsonl"]

MAX_SCENARIO_BYTES = 256_000
MAX_EVENTS = 2000
"""A playground run stays a few seconds long."""


class PlaygroundError(ScenarioError):
    """A scenario the playground will not run; the message says why."""

    code = "bad_playground_scenario"
    status = 422


def run_scenario(text: str, *, fmt: Format, settings: Settings, name: str = "pasted") -> Report:
    """Run ``text`` (YAML or JSON Lines) through the simulator in a throw-away store."""
    size = len(text.encode())
    if not text.strip():
        raise PlaygroundError("expected a scenario (YAML or JSON Lines), got nothing")
    if size > MAX_SCENARIO_BYTES:
        raise PlaygroundError(
            f"expected a scenario of at most {MAX_SCENARIO_BYTES} bytes, got {size} bytes"
        )
    jsonl = _is_jsonl(text) if fmt == "auto" else fmt == "jsonl"
    _refuse_server_files(text, jsonl=jsonl)
    with tempfile.TemporaryDirectory(prefix="askfirst-playground-") as folder:
        path = Path(folder) / (f"{_safe(name)}.jsonl" if jsonl else f"{_safe(name)}.yaml")
        path.write_text(text, encoding="utf-8")
        loaded = load_scenario(path, jsonl=jsonl)
        if len(loaded.scenario.events) > MAX_EVENTS:
            raise PlaygroundError(
                f"expected at most {MAX_EVENTS} events, got {len(loaded.scenario.events)}"
            )
        backend = InProcess.create(
            loaded, settings, transcribers=TranscriberSet(), policy_path=settings.policy_path
        )
        try:
            return simulate(
                loaded, backend, broadcast_window_seconds=settings.broadcast_window_seconds
            )
        except (TurnError, PolicyError, CoreError, StoreError) as exc:
            raise PlaygroundError(str(exc)) from exc
        finally:
            backend.close()


def _is_jsonl(text: str) -> bool:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


def _safe(name: str) -> str:
    stem = Path(name).stem
    kept = "".join(ch for ch in stem if ch.isalnum() or ch in "-_")[:60]
    return kept or "pasted"


def _refuse_server_files(text: str, *, jsonl: bool) -> None:
    """No ``policy`` and no ``audio``: a pasted scenario must not reach the server's files."""
    events: Any = None
    try:
        if jsonl:
            events = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = yaml.safe_load(text)
            if isinstance(data, dict):
                if "policy" in data:
                    raise PlaygroundError(
                        "policy: expected no policy file in a playground scenario (it runs on "
                        "the server's policy), got one"
                    )
                events = data.get("events")
    except (json.JSONDecodeError, yaml.YAMLError):
        return  # the loader says exactly what is wrong
    for index, event in enumerate(events if isinstance(events, list) else []):
        if isinstance(event, dict) and "audio" in event:
            raise PlaygroundError(
                f"events[{index}].audio: expected a 'say' event (the playground takes no "
                "audio files), got audio"
            )
