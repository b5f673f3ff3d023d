"""Group commit, on both back ends: writes that queue together share one COMMIT, nobody returns
before it, and a member that fails is rolled back alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from askfirst.core.tags import UtteranceTag
from askfirst.store.base import open_store
from askfirst.store.errors import AmbientTextRefused, StoreError
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, neighbour, utterance
from tests.store.conftest import AUDIT_KEY


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def test_a_failing_member_of_a_shared_commit_is_rolled_back_alone(store: SqlStore) -> None:
    assert store._writers is not None
    gate = store._writers[store.shard_of("alice")].gate
    bob = neighbour(store, "alice")  # the same shard: the same shared commit
    events: list[str] = []
    errors: list[StoreError] = []
    first_inside = threading.Event()

    def first() -> None:
        with store.turn(user_id="alice", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance("u1", user_id="alice"),
                decision=decision("d1", utterance_id="u1"),
                consent=consent("alice"),
            )
            first_inside.set()
            wait_until(lambda: gate.queued >= 1, "the second writer to queue")
        events.append("first returned")

    def second() -> None:
        first_inside.wait(5)
        try:
            with store.turn(user_id=bob, session_id="s1", now=NOW) as tx:
                tx.set_opt_out(True)  # written, then rolled back with the failing turn
                events.append("second block ran")
                tx.record(
                    utterance=utterance("u2", user_id=bob, tag=UtteranceTag.AMBIENT),
                    decision=decision("d2", utterance_id="u2", permit=False),
                    consent=consent(bob),
                )
        except StoreError as e:
            errors.append(e)
        events.append("second returned")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [type(e) for e in errors] == [AmbientTextRefused]
    # The first writer left the transaction open for the queued second one and returned only
    # after the commit that followed the second one's block.
    assert events.index("second block ran") < events.index("first returned")
    assert store.get_decision("d1") == decision("d1", utterance_id="u1")
    assert store.get_decision("d2") is None
    assert store.user_state(user_id=bob, session_id=None, now=NOW).opted_out is False
    report = store.audit_verify()
    assert (report.ok, report.count) == (True, 1), report.problems


def test_sequential_writes_each_commit_before_returning(store: SqlStore, store_url: str) -> None:
    other = open_store(store_url, audit_key=AUDIT_KEY)  # a second store on the same database
    try:
        for n in range(3):
            writer = store if n % 2 == 0 else other
            with writer.turn(user_id="alice", session_id="s1", now=NOW) as tx:
                tx.record(
                    utterance=utterance(f"u{n}", user_id="alice"),
                    decision=decision(f"d{n}", utterance_id=f"u{n}"),
                    consent=tx.user_state(),
                )
            # Visible at once from a fresh connection of the other store: committed.
            reader = other if writer is store else store
            assert reader.get_decision(f"d{n}") is not None
    finally:
        other.close()
    assert store.audit_verify().ok


def test_a_failing_first_write_with_others_queued_rolls_back_alone(store: SqlStore) -> None:
    assert store._writers is not None
    gate = store._writers[store.shard_of("alice")].gate
    bob = neighbour(store, "alice")  # the same shard: the same shared commit
    errors: list[StoreError] = []
    first_inside = threading.Event()

    def first() -> None:
        try:
            with store.turn(user_id=bob, session_id="s1", now=NOW) as tx:
                tx.set_opt_out(True)  # written, then rolled back with the failing turn
                first_inside.set()
                wait_until(lambda: gate.queued >= 1, "the second writer to queue")
                tx.record(
                    utterance=utterance("u2", user_id=bob, tag=UtteranceTag.AMBIENT),
                    decision=decision("d2", utterance_id="u2", permit=False),
                    consent=consent(bob),
                )
        except StoreError as e:
            errors.append(e)

    def second() -> None:
        first_inside.wait(5)
        with store.turn(user_id="alice", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance("u1", user_id="alice"),
                decision=decision("d1", utterance_id="u1"),
                consent=consent("alice"),
            )

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [type(e) for e in errors] == [AmbientTextRefused]
    assert store.get_decision("d1") is not None
    assert store.user_state(user_id=bob, session_id=None, now=NOW).opted_out is False
    report = store.audit_verify()
    assert (report.ok, report.count) == (True, 1), report.problems
