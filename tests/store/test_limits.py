"""Every stored field has a size limit, refused before anything is written (both back ends).

Before the limits, a 3 KB user id broke PostgreSQL's btree index (a 503 logged as an outage) and
a 2 MB transcript was stored as is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from askfirst.core.limits import (
    MAX_ID_BYTES,
    MAX_KEY_BYTES,
    MAX_LOCALE_BYTES,
    MAX_TEXT_BYTES,
)
from askfirst.core.peers import PeerCapture
from askfirst.core.windows import ListeningWindow
from askfirst.store.errors import BadValueError, FieldTooLarge
from askfirst.store.schema import audit_log
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance

BIG_ID = "x" * 3000
"""Over PostgreSQL's btree entry limit (about 2.7 KB)."""


def record(store: SqlStore, *, user_id: str = "user-1", **changes: Any) -> None:
    u = replace(utterance(), **{k: v for k, v in changes.items() if k != "decision_id"})
    d = replace(decision(), utterance_id=u.id)
    if "decision_id" in changes:
        d = replace(d, id=str(changes["decision_id"]))
    with store.turn(user_id=user_id, session_id="s1", now=NOW) as tx:
        tx.record(utterance=u, decision=d, consent=consent())


def window(**changes: Any) -> ListeningWindow:
    base = ListeningWindow(
        id="w1",
        device_id="dev-1",
        opened_at=NOW,
        expires_at=NOW + timedelta(seconds=8),
        reason="assistant_asked",
    )
    return replace(base, **changes)


CASES: dict[str, Callable[[SqlStore], object]] = {
    "user_id": lambda s: record(s, user_id=BIG_ID),
    "utterance.id": lambda s: record(s, id=BIG_ID),
    "utterance.text": lambda s: record(s, text="shoes " * 400_000),
    "utterance.device_id": lambda s: record(s, device_id=BIG_ID),
    "utterance.session_id": lambda s: record(s, session_id=BIG_ID),
    "utterance.locale": lambda s: record(s, locale="en-" + "x" * 100),
    "utterance.tag_reasons": lambda s: record(s, tag_reasons=("wake",) * 100),
    "decision.id": lambda s: record(s, decision_id=BIG_ID),
    "offer_id": lambda s: s.record_declined(
        user_id="user-1", offer_id=BIG_ID, decision_id=None, now=NOW
    ),
    "decision_id": lambda s: s.record_declined(
        user_id="user-1", offer_id="shoes-1", decision_id=BIG_ID, now=NOW
    ),
    "opt_out user_id": lambda s: s.set_opt_out(user_id=BIG_ID, opted_out=True, now=NOW),
    "window.device_id": lambda s: s.put_window(window(device_id=BIG_ID)),
    "window.id": lambda s: s.put_window(window(id=BIG_ID)),
    "peer.household": lambda s: s.note_capture(
        PeerCapture(device_id="dev-1", at=NOW, household=BIG_ID, text_print=b"x" * 8), now=NOW
    ),
    "forget user_id": lambda s: s.forget_user(BIG_ID),
    "get_decision": lambda s: s.get_decision(BIG_ID),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_oversized_field_is_refused_and_nothing_is_written(
    store: SqlStore, case: str
) -> None:
    with pytest.raises(FieldTooLarge) as caught:
        CASES[case](store)
    assert isinstance(caught.value, BadValueError)  # the edge answers it with 422
    assert caught.value.code == "field_too_large"
    assert "expected at most" in caught.value.message
    assert BIG_ID not in caught.value.message  # the value itself is never echoed
    with store._engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == 0
    assert store.audit_verify().ok


def test_values_at_the_limits_are_kept(store: SqlStore) -> None:
    at_limit = "u" * MAX_ID_BYTES
    record(store, id=at_limit, text="가" * (MAX_TEXT_BYTES // 3))
    assert store.get_decision("d1") is not None
    assert store.audit_verify().ok


def test_the_limit_counts_utf8_bytes_not_characters(store: SqlStore) -> None:
    with pytest.raises(FieldTooLarge, match=f"at most {MAX_TEXT_BYTES} bytes"):
        record(store, text="가" * (MAX_TEXT_BYTES // 3 + 1))


def sized(size: int) -> str:
    """Korean and ASCII, exactly ``size`` bytes of UTF-8."""
    return "가" * (size // 3) + "x" * (size % 3)


LIMITS: dict[str, tuple[int, Callable[[SqlStore, str], object]]] = {
    "user_id": (MAX_KEY_BYTES, lambda s, v: record(s, user_id=v)),
    "utterance.id": (MAX_KEY_BYTES, lambda s, v: record(s, id=v)),
    "utterance.device_id": (MAX_KEY_BYTES, lambda s, v: record(s, device_id=v)),
    "utterance.session_id": (MAX_ID_BYTES, lambda s, v: record(s, session_id=v)),
    "utterance.text": (MAX_TEXT_BYTES, lambda s, v: record(s, text=v)),
    "utterance.locale": (MAX_LOCALE_BYTES, lambda s, v: record(s, locale=v)),
    "decision.id": (MAX_ID_BYTES, lambda s, v: record(s, decision_id=v)),
    "offer_id": (
        MAX_ID_BYTES,
        lambda s, v: s.record_declined(user_id="user-1", offer_id=v, decision_id=None, now=NOW),
    ),
}


@pytest.mark.parametrize("field", list(LIMITS))
def test_the_store_keeps_what_the_edge_lets_through_and_refuses_one_byte_more(
    store: SqlStore, field: str
) -> None:
    """The store's limits are ``core.limits``', as the HTTP edge's are: at the limit a value is
    kept, one byte over it is refused, nothing written."""
    limit, write = LIMITS[field]
    with pytest.raises(FieldTooLarge, match=f"at most {limit} bytes of UTF-8, got {limit + 1}"):
        write(store, sized(limit + 1))
    assert store.record_count() == 0
    write(store, sized(limit))
    assert store.record_count() == 1
