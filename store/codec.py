"""JSON codecs for the policy values the store keeps (decisions, utterances, consent snapshots).

Decoding checks every field and names the path, what was expected and what arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from askfirst.core.capture import Clock
from askfirst.core.tags import UtteranceTag
from askfirst.policy.values import (
    CatalogEntry,
    Decision,
    Obligation,
    OfferKind,
    Question,
    QuestionKind,
    RuleResult,
    UserState,
    Utterance,
    Verdict,
)
from askfirst.store.errors import BadValueError

E = TypeVar("E", bound=StrEnum)
JsonObject = dict[str, Any]


def decision_to_json(d: Decision) -> JsonObject:
    """A decision as a JSON-ready dict (every field, nothing dropped)."""
    return {
        "id": d.id,
        "utterance_id": d.utterance_id,
        "permit": d.permit,
        "rule": d.rule,
        "results": [
            {"rule": r.rule, "verdict": r.verdict.value, "reason": r.reason} for r in d.results
        ],
        "evidence_ids": list(d.evidence_ids),
        "obligations": [{"code": o.code, "text": o.text} for o in d.obligations],
        "offer": None if d.offer is None else _entry_to_json(d.offer),
        "policy_hash": d.policy_hash,
        "would_change": list(d.would_change),
        "question": None if d.question is None else _question_to_json(d.question),
    }


def decision_from_json(obj: object) -> Decision:
    """The decision ``decision_to_json`` wrote; BadValueError names the first wrong field."""
    o = _object(obj, "decision")
    offer = o.get("offer")
    question = o.get("question")
    return Decision(
        id=_str(o, "id", "decision"),
        utterance_id=_str(o, "utterance_id", "decision"),
        permit=_bool(o, "permit", "decision"),
        rule=_str(o, "rule", "decision"),
        results=tuple(
            _result_from_json(r, f"decision.results[{i}]")
            for i, r in enumerate(_list(o, "results", "decision"))
        ),
        evidence_ids=_str_tuple(o, "evidence_ids", "decision"),
        obligations=tuple(
            _obligation_from_json(r, f"decision.obligations[{i}]")
            for i, r in enumerate(_list(o, "obligations", "decision"))
        ),
        offer=None if offer is None else _entry_from_json(offer, "decision.offer"),
        policy_hash=_str(o, "policy_hash", "decision"),
        would_change=_str_tuple(o, "would_change", "decision"),
        question=None if question is None else _question_from_json(question, "decision.question"),
    )


def utterance_to_json(u: Utterance) -> JsonObject:
    """An utterance as a JSON-ready dict, text included (redact before calling if ambient)."""
    return {
        "id": u.id,
        "text": u.text,
        "locale": u.locale,
        "tag": u.tag.value,
        "tag_reasons": list(u.tag_reasons),
        "at": u.at.isoformat(),
        "device_id": u.device_id,
        "user_id": u.user_id,
        "session_id": u.session_id,
        "clock": u.clock.value,
    }


def utterance_from_json(obj: object) -> Utterance:
    """The utterance ``utterance_to_json`` wrote."""
    o = _object(obj, "utterance")
    at_text = _str(o, "at", "utterance")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        raise BadValueError(
            f"expected an ISO-8601 time at 'utterance.at', got {at_text!r}"
        ) from None
    return Utterance(
        id=_str(o, "id", "utterance"),
        text=_str(o, "text", "utterance"),
        locale=_str(o, "locale", "utterance"),
        tag=_enum(UtteranceTag, o, "tag", "utterance"),
        tag_reasons=_str_tuple(o, "tag_reasons", "utterance"),
        at=at,
        device_id=_str(o, "device_id", "utterance"),
        user_id=_opt_str(o, "user_id", "utterance"),
        session_id=_opt_str(o, "session_id", "utterance"),
        clock=_enum(Clock, o, "clock", "utterance") if "clock" in o else Clock.DEVICE,
    )


def user_state_to_json(s: UserState) -> JsonObject:
    """A consent snapshot as a JSON-ready dict (declined ids sorted, so the bytes are stable)."""
    return {
        "user_id": s.user_id,
        "opted_out": s.opted_out,
        "child_profile": s.child_profile,
        "declined_offer_ids": sorted(s.declined_offer_ids),
        "offers_this_session": s.offers_this_session,
        "offers_today": s.offers_today,
    }


def user_state_from_json(obj: object) -> UserState:
    """The consent snapshot ``user_state_to_json`` wrote."""
    o = _object(obj, "user_state")
    return UserState(
        user_id=_opt_str(o, "user_id", "user_state"),
        opted_out=_bool(o, "opted_out", "user_state"),
        child_profile=_bool(o, "child_profile", "user_state"),
        declined_offer_ids=frozenset(_str_tuple(o, "declined_offer_ids", "user_state")),
        offers_this_session=_int(o, "offers_this_session", "user_state"),
        offers_today=_int(o, "offers_today", "user_state"),
    )


def _entry_to_json(e: CatalogEntry) -> JsonObject:
    return {
        "id": e.id,
        "title": e.title,
        "category": e.category,
        "synonyms": list(e.synonyms),
        "kind": e.kind.value,
        "disclosure": e.disclosure,
        "pitch": e.pitch,
        "product_id": e.product_id,
    }


def _entry_from_json(obj: object, where: str) -> CatalogEntry:
    o = _object(obj, where)
    return CatalogEntry(
        id=_str(o, "id", where),
        title=_str(o, "title", where),
        category=_str(o, "category", where),
        synonyms=_str_tuple(o, "synonyms", where),
        kind=_enum(OfferKind, o, "kind", where),
        disclosure=_str(o, "disclosure", where),
        pitch=_str(o, "pitch", where),
        product_id=_opt_str(o, "product_id", where),
    )


def _question_to_json(q: Question) -> JsonObject:
    return {
        "utterance_id": q.utterance_id,
        "kind": q.kind.value,
        "topic": q.topic,
        "catalog_ids": list(q.catalog_ids),
        "cue": q.cue,
    }


def _question_from_json(obj: object, where: str) -> Question:
    o = _object(obj, where)
    return Question(
        utterance_id=_str(o, "utterance_id", where),
        kind=_enum(QuestionKind, o, "kind", where),
        topic=_opt_str(o, "topic", where),
        catalog_ids=_str_tuple(o, "catalog_ids", where),
        cue=_str(o, "cue", where),
    )


def _result_from_json(obj: object, where: str) -> RuleResult:
    o = _object(obj, where)
    return RuleResult(
        rule=_str(o, "rule", where),
        verdict=_enum(Verdict, o, "verdict", where),
        reason=_str(o, "reason", where),
    )


def _obligation_from_json(obj: object, where: str) -> Obligation:
    o = _object(obj, where)
    return Obligation(code=_str(o, "code", where), text=_str(o, "text", where))


def _object(obj: object, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise BadValueError(
            f"expected a JSON object at {where!r}, got {type(obj).__name__}: {obj!r}"
        )
    return obj


def _field(o: Mapping[str, Any], key: str, where: str) -> object:
    if key not in o:
        raise BadValueError(f"expected field {key!r} in {where!r}, got keys {sorted(o)!r}")
    return o[key]


def _str(o: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(o, key, where)
    if not isinstance(value, str):
        raise BadValueError(f"expected a string at '{where}.{key}', got {value!r}")
    return value


def _opt_str(o: Mapping[str, Any], key: str, where: str) -> str | None:
    value = _field(o, key, where)
    if value is not None and not isinstance(value, str):
        raise BadValueError(f"expected a string or null at '{where}.{key}', got {value!r}")
    return value


def _bool(o: Mapping[str, Any], key: str, where: str) -> bool:
    value = _field(o, key, where)
    if not isinstance(value, bool):
        raise BadValueError(f"expected true or false at '{where}.{key}', got {value!r}")
    return value


def _int(o: Mapping[str, Any], key: str, where: str) -> int:
    value = _field(o, key, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadValueError(f"expected an integer at '{where}.{key}', got {value!r}")
    return value


def _list(o: Mapping[str, Any], key: str, where: str) -> list[object]:
    value = _field(o, key, where)
    if not isinstance(value, list):
        raise BadValueError(f"expected a list at '{where}.{key}', got {value!r}")
    return value


def _str_tuple(o: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _list(o, key, where)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise BadValueError(f"expected a string at '{where}.{key}[{i}]', got {item!r}")
    return tuple(str(item) for item in items)


def _enum(kind: type[E], o: Mapping[str, Any], key: str, where: str) -> E:
    value = _str(o, key, where)
    try:
        return kind(value)
    except ValueError:
        allowed = [m.value for m in kind]
        raise BadValueError(
            f"expected one of {allowed!r} at '{where}.{key}', got {value!r}"
        ) from None
