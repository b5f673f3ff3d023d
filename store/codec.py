"""The store's JSON for the policy's values: the one wire shape of ``askfirst.policy.wire``
(pydantic ``TypeAdapter`` s over the policy dataclasses), with its errors as the store's own.

What is stored is unchanged: the same field names and values, and an utterance's time still in
``isoformat`` form (``+00:00``); records written before decode the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from askfirst.policy import wire
from askfirst.policy.values import Decision, UserState, Utterance
from askfirst.store.errors import BadValueError

T = TypeVar("T")
JsonObject = dict[str, Any]

decision_to_json = wire.decision_to_json
user_state_to_json = wire.user_state_to_json


def utterance_to_json(utterance: Utterance) -> JsonObject:
    """The wire shape, with the time written as ``datetime.isoformat`` (``+00:00``), as every
    stored record has it: exports and reports compare these texts."""
    obj = wire.utterance_to_json(utterance)
    obj["at"] = utterance.at.isoformat()
    return obj


def decision_from_json(obj: object) -> Decision:
    """The decision ``decision_to_json`` wrote; BadValueError names the first wrong field."""
    return _decoded(wire.decision_from_json, obj)


def utterance_from_json(obj: object) -> Utterance:
    """The utterance ``utterance_to_json`` wrote."""
    return _decoded(wire.utterance_from_json, obj)


def user_state_from_json(obj: object) -> UserState:
    """The consent snapshot ``user_state_to_json`` wrote."""
    return _decoded(wire.user_state_from_json, obj)


def _decoded(decode: Callable[[object], T], obj: object) -> T:
    try:
        return decode(obj)
    except wire.WireError as exc:
        raise BadValueError(str(exc)) from None
