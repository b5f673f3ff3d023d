"""The one JSON wire shape of the policy's values: decisions, utterances, consent snapshots.

The shapes are the frozen dataclasses of ``askfirst.policy.values`` themselves, read and written
by pydantic ``TypeAdapter`` s, so the store's records, the device API's answers, the OpenAPI
document and the simulator's ``--json`` cannot drift apart: change a field in ``values.py`` and
every one of them follows. Decoding is strict (JSON types only, no coercion of ``"yes"`` to
true) and a :class:`WireError` names the first wrong field, what was expected and what arrived.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from askfirst.policy.errors import PolicyError
from askfirst.policy.values import CatalogEntry, Decision, Question, UserState, Utterance

T = TypeVar("T")
JsonObject = dict[str, Any]

DECISION: TypeAdapter[Decision] = TypeAdapter(Decision)
UTTERANCE: TypeAdapter[Utterance] = TypeAdapter(Utterance)
USER_STATE: TypeAdapter[UserState] = TypeAdapter(UserState)
QUESTION: TypeAdapter[Question] = TypeAdapter(Question)
CATALOG_ENTRY: TypeAdapter[CatalogEntry] = TypeAdapter(CatalogEntry)


class WireError(PolicyError):
    """A JSON value is not the wire shape of the value it claims to be."""

    def __init__(self, where: str, expected: str, got: object) -> None:
        self.where = where
        """The path of the first wrong field, e.g. ``decision.results[0].verdict``."""
        super().__init__(f"expected {expected} at {where!r}, got {got!r}")


def decision_to_json(decision: Decision) -> JsonObject:
    """A decision as a JSON-ready dict (every field, nothing dropped)."""
    return _dump(DECISION, decision)


def decision_from_json(obj: object) -> Decision:
    """The decision :func:`decision_to_json` wrote; WireError names the first wrong field."""
    return _load(DECISION, obj, "decision")


def utterance_to_json(utterance: Utterance) -> JsonObject:
    """An utterance as a JSON-ready dict, text included (redact before calling if ambient)."""
    return _dump(UTTERANCE, utterance)


def utterance_from_json(obj: object) -> Utterance:
    """The utterance :func:`utterance_to_json` wrote."""
    return _load(UTTERANCE, obj, "utterance")


def user_state_to_json(state: UserState) -> JsonObject:
    """A consent snapshot as a JSON-ready dict (declined ids sorted, so the bytes are stable)."""
    obj = _dump(USER_STATE, state)
    obj["declined_offer_ids"] = sorted(state.declined_offer_ids)
    return obj


def user_state_from_json(obj: object) -> UserState:
    """The consent snapshot :func:`user_state_to_json` wrote."""
    return _load(USER_STATE, obj, "user_state")


def question_to_json(question: Question) -> JsonObject:
    """A detected question as a JSON-ready dict."""
    return _dump(QUESTION, question)


def catalog_entry_to_json(entry: CatalogEntry) -> JsonObject:
    """A catalog entry (an offer) as a JSON-ready dict."""
    return _dump(CATALOG_ENTRY, entry)


def _dump(adapter: TypeAdapter[T], value: T) -> JsonObject:
    obj: JsonObject = adapter.dump_python(value, mode="json")
    return obj


def _load(adapter: TypeAdapter[T], obj: object, root: str) -> T:
    if not isinstance(obj, dict):
        raise WireError(root, "a JSON object", type(obj).__name__)
    try:
        text = json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise WireError(root, "JSON values only", str(exc)) from None
    try:
        return adapter.validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        if first["type"] == "missing":
            raise WireError(where, "a field", "nothing") from None
        expected = first["msg"].removeprefix("Input should be ")
        raise WireError(where, expected, first.get("input")) from None
