"""Reading the log for people: recent turns with filters, one decision's record, log counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from askfirst.core.tags import UtteranceTag
from askfirst.store.errors import BadValueError
from askfirst.store.queries import TurnFilter
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance


def _turn(
    store: SqlStore,
    n: int,
    *,
    tag: UtteranceTag = UtteranceTag.PROMPTED,
    device: str = "dev-1",
    user: str = "user-1",
    permit: bool = True,
) -> None:
    at = NOW + timedelta(minutes=n)
    with store.turn(user_id=user, session_id=f"s{n}", now=at) as tx:
        tx.record(
            utterance=utterance(
                f"u{n}",
                tag=tag,
                text="" if tag is UtteranceTag.AMBIENT else "what running shoes do you recommend",
                at=at,
                device_id=device,
                user_id=user,
            ),
            decision=decision(f"d{n}", utterance_id=f"u{n}", permit=permit),
            consent=consent(user),
        )


@pytest.fixture
def log(store: SqlStore) -> SqlStore:
    """Six turns: d0..d5; d1 and d4 ambient (kitchen TV), d3 by another user on the bedroom."""
    _turn(store, 0)
    _turn(store, 1, tag=UtteranceTag.AMBIENT, device="kitchen", permit=False)
    _turn(store, 2)
    _turn(store, 3, device="bedroom", user="user-2", permit=False)
    _turn(store, 4, tag=UtteranceTag.AMBIENT, device="kitchen", permit=False)
    _turn(store, 5)
    return store


def _ids(store: SqlStore, **kwargs: object) -> list[str]:
    limit = kwargs.pop("limit", 50)
    before = kwargs.pop("before", None)
    page = store.recent_turns(
        where=TurnFilter(**kwargs),  # type: ignore[arg-type]
        limit=limit,  # type: ignore[arg-type]
        before=before,  # type: ignore[arg-type]
    )
    return [t.decision_id for t in page.turns]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["d5", "d4", "d3", "d2", "d1", "d0"]),
        ({"device_id": "kitchen"}, ["d4", "d1"]),
        ({"user_id": "user-2"}, ["d3"]),
        ({"tag": "ambient"}, ["d4", "d1"]),
        ({"tag": "prompted"}, ["d5", "d3", "d2", "d0"]),
        ({"rule": "permit"}, ["d5", "d2", "d0"]),
        ({"rule": "R1.prompted", "device_id": "bedroom"}, ["d3"]),
        ({"offer": True}, ["d5", "d2", "d0"]),
        ({"offer": False}, ["d4", "d3", "d1"]),
        (
            {"since": NOW + timedelta(minutes=2), "until": NOW + timedelta(minutes=4)},
            ["d4", "d3", "d2"],
        ),
    ],
)
def test_filters_select_the_turns_newest_first(
    log: SqlStore, filters: dict[str, object], expected: list[str]
) -> None:
    assert _ids(log, **filters) == expected


def test_pages_continue_below_the_last_turn(log: SqlStore) -> None:
    first = log.recent_turns(limit=4)
    assert [t.decision_id for t in first.turns] == ["d5", "d4", "d3", "d2"]
    assert first.next_before == first.turns[-1].cursor
    second = log.recent_turns(limit=4, before=first.next_before)
    assert [t.decision_id for t in second.turns] == ["d1", "d0"]
    assert second.next_before is None


def test_ambient_turns_carry_no_text_and_prompted_ones_do(log: SqlStore) -> None:
    turns = {t.decision_id: t for t in log.recent_turns().turns}
    assert turns["d1"].tag == "ambient" and turns["d1"].text is None
    assert turns["d1"].tag_reasons == ("no_wake_word",)
    assert turns["d0"].text == "what running shoes do you recommend"
    assert turns["d0"].offered and not turns["d3"].offered
    assert turns["d0"].decision is not None and turns["d0"].decision.rule == "permit"


def test_a_decision_record_names_its_chain_position(log: SqlStore) -> None:
    record = log.decision_record("d3")
    assert record is not None
    assert record.turn.rule == "R1.prompted" and record.turn.device_id == "bedroom"
    assert record.chain_length == 1 and record.turn.seq == 1  # user-2's shard holds only d3
    assert record.payload is not None and record.payload["user_id"] == "user-2"
    assert record.payload["utterance"]["text"] is None
    assert len(record.hash) == 64 and record.erased_by is None
    assert log.decision_record("nope") is None


def test_forgotten_users_turns_stay_listed_but_erased(log: SqlStore) -> None:
    log.forget_user("user-2")
    record = log.decision_record("d3")
    assert record is not None
    assert record.erased_by is not None and record.payload is None
    assert record.turn.user_id is None and record.turn.decision is None
    summary = log.log_summary()
    assert (summary.records, summary.decisions, summary.erased, summary.forgets) == (7, 6, 1, 1)
    assert _ids(log, user_id="user-2") == []


def test_purged_transcripts_are_no_longer_shown(log: SqlStore) -> None:
    log.purge_expired(datetime.now(UTC) + timedelta(days=3650), retention=timedelta(days=1))
    turns = log.recent_turns().turns
    assert [t.text for t in turns] == [None] * 6
    assert _ids(log, device_id="kitchen") == ["d4", "d1"]  # device still known from the record


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"before": "x"}, "before")],
)
def test_bad_page_arguments_are_refused(
    log: SqlStore, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(BadValueError, match=message):
        log.recent_turns(**kwargs)  # type: ignore[arg-type]


def test_a_bad_tag_filter_is_refused() -> None:
    with pytest.raises(BadValueError, match="tag: expected"):
        TurnFilter(tag="loud")


def test_a_user_is_found_by_key_or_by_the_keys_last_part(store: SqlStore) -> None:
    _turn(store, 0, user="household:flat-12:ann")
    _turn(store, 1, user="household:flat-12:annabel")
    assert _ids(store, user_id="ann") == ["d0"]
    assert _ids(store, user_id="household:flat-12:annabel") == ["d1"]
    assert _ids(store, user_id="flat-12") == []


def test_verify_reports_its_progress(log: SqlStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from askfirst.store import audit

    monkeypatch.setattr(audit, "PROGRESS_EVERY", 2)
    seen: list[int] = []
    assert log.audit_verify(progress=seen.append).ok
    assert seen == [2, 4, 6]
