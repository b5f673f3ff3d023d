"""The turn's hot path: one-round-trip user state, windows opened inside the turn, threads sharing
one store, and the SQLite durability setting."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from askfirst.core.tags import UtteranceTag
from askfirst.core.windows import ListeningWindow
from askfirst.store.base import open_store
from askfirst.store.engine import SYNCHRONOUS
from askfirst.store.errors import AmbientTextRefused, BadValueError, StoreError
from askfirst.store.schema import windows
from askfirst.store.sql import SqlStore
from askfirst.store.statements import Sql
from tests.store.builders import NOW, consent, decision, utterance
from tests.store.conftest import PG_DSN


def window(wid: str = "w1", *, device_id: str = "dev-1") -> ListeningWindow:
    return ListeningWindow(
        id=wid,
        device_id=device_id,
        opened_at=NOW,
        expires_at=NOW + timedelta(seconds=8),
        reason="assistant_asked",
    )


def test_user_state_reads_flags_declined_offers_and_both_counts(store: SqlStore) -> None:
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    for offer in ("shoes-1", "socks-2"):
        store.record_declined(user_id="user-1", offer_id=offer, decision_id=None, now=NOW)
    for n, session in enumerate(("s1", "s1", "s2")):
        with store.turn(user_id="user-1", session_id=session, now=NOW) as tx:
            tx.record(
                utterance=utterance(f"u{n}", session_id=session),
                decision=decision(f"d{n}", utterance_id=f"u{n}"),
                consent=consent(),
            )
    state = store.user_state(user_id="user-1", session_id="s1", now=NOW)
    assert (state.opted_out, state.child_profile) == (True, False)
    assert state.declined_offer_ids == frozenset({"shoes-1", "socks-2"})
    assert (state.offers_this_session, state.offers_today) == (2, 3)
    store.set_child_profile("user-1", True)
    state = store.user_state(user_id="user-1", session_id=None, now=NOW)
    assert (state.opted_out, state.child_profile, state.offers_this_session) == (True, True, 0)


def test_a_window_opened_in_a_turn_commits_with_it(store: SqlStore) -> None:
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.record(utterance=utterance(), decision=decision(), consent=consent())
        tx.open_window(window("w1"))
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.open_window(window("w2"))  # replaces the device's open window
    assert store.take_window(device_id="dev-1", now=NOW) == window("w2")
    assert store.take_window(device_id="dev-1", now=NOW) is None


def test_a_window_opened_in_a_failed_turn_is_rolled_back(store: SqlStore) -> None:
    ambient = utterance(tag=UtteranceTag.AMBIENT, text="overheard")
    with (
        pytest.raises(AmbientTextRefused),
        store.turn(user_id="user-1", session_id="s1", now=NOW) as tx,
    ):
        tx.open_window(window("w1"))
        tx.record(utterance=ambient, decision=decision(permit=False), consent=consent())
    with store._engine.connect() as conn:
        assert conn.execute(select(windows)).all() == []


def test_threads_sharing_one_store_keep_the_cap_and_one_chain(store: SqlStore) -> None:
    cap, threads, turns = 5, 8, 6
    permits: list[bool] = []
    failures: list[StoreError] = []
    start = threading.Barrier(threads)

    def run(t: int) -> None:
        try:
            start.wait()
            for n in range(turns):
                uid = f"u{t}-{n}"
                with store.turn(user_id="shared", session_id="s1", now=NOW) as tx:
                    state = tx.user_state()
                    permit = state.offers_this_session < cap
                    tx.record(
                        utterance=utterance(uid, user_id="shared"),
                        decision=decision(f"d{t}-{n}", utterance_id=uid, permit=permit),
                        consent=state,
                    )
                permits.append(permit)
        except StoreError as e:  # reported below, so a failing thread fails the test
            failures.append(e)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert failures == []
    assert (len(permits), sum(permits)) == (threads * turns, cap)
    report = store.audit_verify()
    assert (report.ok, report.count) == (True, threads * turns), report.problems


@pytest.mark.parametrize("level", SYNCHRONOUS)
def test_sqlite_synchronous_is_set_from_the_url(tmp_path: Path, level: str) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}?synchronous={level.upper()}")
    assert isinstance(store, SqlStore)
    try:
        with store._engine.connect() as conn:
            value = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert value == {"full": 2, "normal": 1}[level]
        with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
            tx.record(utterance=utterance(), decision=decision(), consent=tx.user_state())
        assert store.audit_verify().ok
    finally:
        store.close()


def test_sqlite_is_fully_synchronous_by_default(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(store, SqlStore)
    try:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db?synchronous=off", "expected synchronous to be one of"),
        ("sqlite:///x.db?synchronous=extra", "expected synchronous to be one of"),
        (f"{PG_DSN}?synchronous=normal", "'synchronous' is a SQLite setting"),
    ],
)
def test_bad_synchronous_is_refused(url: str, message: str) -> None:
    with pytest.raises(BadValueError, match=message):
        open_store(url)


def test_statement_parameters_are_converted_per_dialect() -> None:
    statement = Sql.of("SELECT a FROM t\n  WHERE b = :b_1 AND c = :c AND e = f::text")
    assert statement.sqlite == "SELECT a FROM t WHERE b = :b_1 AND c = :c AND e = f::text"
    assert statement.postgresql == "SELECT a FROM t WHERE b = %(b_1)s AND c = %(c)s AND e = f::text"
