"""The store's JSON for the policy's values: the one wire shape of ``askfirst.policy.wire``
(pydantic ``TypeAdapter`` s over the policy dataclasses), with its errors as the store's own.

Records written before the wire shape existed decode the same way: the field names and values
are unchanged, and times in either ``+00:00`` or ``Z`` form are read.
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
utterance_to_json = wire.utterance_to_json
user_state_to_json = wire.user_state_to_json


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
