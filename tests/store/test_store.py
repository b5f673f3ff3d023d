"""The store on both back ends: round trips, ambient refusal, caps, windows, consent, erasure."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.core.tags import UtteranceTag
from askfirst.core.windows import ListeningWindow
from askfirst.policy.values import UserState
from askfirst.store.base import open_store
from askfirst.store.errors import (
    AmbientPermitRefused,
    AmbientTextRefused,
    BadValueError,
    ConflictError,
    StoreError,
)
from askfirst.store.schema import audit_log, decisions, utterances
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, consent, decision, utterance


def rows(store: SqlStore, table: object) -> list[dict[str, object]]:
    with store._engine.connect() as conn:  # the test reads the raw tables on purpose
        return [dict(r._mapping) for r in conn.execute(select(table))]  # type: ignore[call-overload]


def record(
    store: SqlStore,
    n: int,
    *,
    permit: bool = True,
    user: str = "user-1",
    session: str = "s1",
    now: datetime = NOW,
) -> None:
    suffix = "" if user == "user-1" else f"-{user}"  # ids never contain the user id
    with store.turn(user_id=user, session_id=session, now=now) as tx:
        tx.record(
            utterance=utterance(f"u{n}{suffix}", session_id=session, user_id=user),
            decision=decision(f"d{n}{suffix}", utterance_id=f"u{n}{suffix}", permit=permit),
            consent=tx.user_state(),
        )


def test_decision_round_trips_and_is_audited(store: SqlStore) -> None:
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        state = tx.user_state()
        assert state == UserState(user_id="user-1")
        tx.record(utterance=utterance(), decision=decision(), consent=state)
    assert store.get_decision("d1") == decision()
    assert store.get_decision("nope") is None
    assert store.last_decision(user_id="user-1", session_id="s1") == decision()
    assert store.last_decision(user_id="user-1", session_id="other") is None
    (row,) = rows(store, utterances)
    assert row["text"] == "what running shoes do you recommend"
    assert row["expires_at"] == (NOW + timedelta(days=30)).isoformat(timespec="microseconds")
    report = store.audit_verify()
    assert (report.ok, report.count) == (True, 1), report.problems


def test_ambient_text_is_refused_and_nothing_is_written(store: SqlStore) -> None:
    ambient = utterance(tag=UtteranceTag.AMBIENT, text="my knees hurt, I need new shoes")
    with (
        pytest.raises(AmbientTextRefused, match="expected no text for an ambient utterance"),
        store.turn(user_id="user-1", session_id="s1", now=NOW) as tx,
    ):
        tx.set_opt_out(False)  # an earlier write in the same turn must be rolled back too
        tx.record(utterance=ambient, decision=decision(permit=False), consent=consent())
    assert rows(store, utterances) == []
    assert rows(store, audit_log) == []
    assert rows(store, decisions) == []


def test_the_database_itself_refuses_ambient_text(store: SqlStore) -> None:
    with (
        pytest.raises(ConflictError, match="ambient_has_no_text"),
        store._write(0) as conn,
    ):
        conn.execute(
            utterances.insert().values(
                id="x",
                device_id="d",
                at="t",
                locale="en-US",
                tag="ambient",
                tag_reasons="[]",
                text="overheard",
                expires_at="t",
            )
        )
    assert rows(store, utterances) == []


def test_ambient_utterance_keeps_only_id_time_device_tag_and_reasons(store: SqlStore) -> None:
    ambient = utterance(tag=UtteranceTag.AMBIENT, text="my knees hurt").redacted()
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.record(utterance=ambient, decision=decision(permit=False), consent=consent())
    (row,) = rows(store, utterances)
    assert row["text"] is None
    assert (row["tag"], row["device_id"], json.loads(str(row["tag_reasons"]))) == (
        "ambient",
        "dev-1",
        ["no_wake_word"],
    )
    assert "my knees" not in json.dumps(rows(store, audit_log), default=str)


def test_a_permit_for_an_ambient_utterance_is_refused(store: SqlStore) -> None:
    ambient = utterance(tag=UtteranceTag.AMBIENT, text="").redacted()
    with (
        pytest.raises(AmbientPermitRefused, match="expected no permitted offer"),
        store.turn(user_id="user-1", session_id="s1", now=NOW) as tx,
    ):
        tx.record(utterance=ambient, decision=decision(permit=True), consent=consent())
    assert rows(store, decisions) == []


def test_decision_for_another_utterance_is_refused(store: SqlStore) -> None:
    with (
        pytest.raises(BadValueError, match="expected utterance_id 'u1', got 'u9'"),
        store.turn(user_id="user-1", session_id="s1", now=NOW) as tx,
    ):
        tx.record(utterance=utterance(), decision=decision(utterance_id="u9"), consent=consent())


def test_duplicate_decision_id_rolls_back_the_whole_turn(store: SqlStore) -> None:
    record(store, 1)
    with (
        pytest.raises(ConflictError),
        store.turn(user_id="user-1", session_id="s1", now=NOW) as tx,
    ):
        tx.record(
            utterance=utterance("u2"),
            decision=decision("d1", utterance_id="u2"),
            consent=consent(),
        )
    assert [r["id"] for r in rows(store, utterances)] == ["u1"]
    assert store.audit_verify().ok


def test_caps_count_permits_per_session_and_since_utc_midnight(store: SqlStore) -> None:
    yesterday = NOW - timedelta(days=1)
    record(store, 1, now=yesterday, session="old")
    record(store, 2, session="s1")
    record(store, 3, session="s1", permit=False)
    record(store, 4, session="s2")
    record(store, 5, session="s2", user="someone-else")
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        state = tx.user_state()
    assert (state.offers_this_session, state.offers_today) == (1, 2)
    with store.turn(user_id="user-1", session_id=None, now=NOW) as tx:
        assert (tx.user_state().offers_this_session, tx.user_state().offers_today) == (0, 2)
    # Midnight is UTC midnight of `now`, whatever zone `now` is given in.
    seoul = datetime(2024, 5, 18, 8, 0, tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo)
    with store.turn(user_id="user-1", session_id="s1", now=seoul) as tx:
        assert tx.user_state().offers_today == 0


def test_consent_changes_are_kept_and_audited(store: SqlStore) -> None:
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    store.set_child_profile("user-1", True)
    store.record_declined(user_id="user-1", offer_id="shoes-1", decision_id="d1", now=NOW)
    store.record_declined(user_id="user-1", offer_id="shoes-1", decision_id="d2", now=NOW)
    with store.turn(user_id="user-1", session_id=None, now=NOW) as tx:
        state = tx.user_state()
        assert (state.opted_out, state.child_profile) == (True, True)
        assert state.declined_offer_ids == frozenset({"shoes-1"})
        tx.set_opt_out(False)
        assert tx.user_state().opted_out is False
    kinds = [r["kind"] for r in rows(store, audit_log)]
    assert kinds == ["opt_out", "child_profile", "declined", "declined", "opt_out"]
    assert store.audit_verify().ok


def test_turn_is_unusable_after_its_block(store: SqlStore) -> None:
    with store.turn(user_id="user-1", session_id=None, now=NOW) as tx:
        pass
    with pytest.raises(StoreError, match="already committed or rolled back"):
        tx.user_state()


def test_windows_are_single_use_and_per_device(store: SqlStore) -> None:
    first = ListeningWindow(
        id="w1",
        device_id="dev-1",
        opened_at=NOW,
        expires_at=NOW + timedelta(seconds=8),
        reason="assistant_asked",
    )
    second = ListeningWindow(
        id="w2",
        device_id="dev-1",
        opened_at=NOW + timedelta(seconds=1),
        expires_at=NOW + timedelta(seconds=9),
        reason="wake_word",
    )
    other = ListeningWindow(
        id="w3",
        device_id="dev-2",
        opened_at=NOW,
        expires_at=NOW + timedelta(seconds=8),
        reason="push_to_talk",
    )
    store.put_window(first)
    store.put_window(second)  # replaces the first
    store.put_window(other)
    late = NOW + timedelta(minutes=5)
    assert store.take_window(device_id="dev-1", now=late) == second  # even when expired
    assert store.take_window(device_id="dev-1", now=late) is None
    assert store.take_window(device_id="dev-2", now=NOW) == other
    assert store.take_window(device_id="dev-3", now=NOW) is None


def _cap(device: str, seconds: float, *, uid: str = "u1", household: str = "") -> PeerCapture:
    return PeerCapture(
        device_id=device,
        household=household,
        utterance_id=uid,
        at=NOW + timedelta(seconds=seconds),
        text_print=b"\x01" * 16,
        audio_print=b"\x02" * 10,
        level=-20.0,
    )


def test_peers_are_captures_within_the_window_in_report_order_and_expire(store: SqlStore) -> None:
    tv = store.note_capture(_cap("tv-room", 0.0, household="flat-1"), now=NOW)
    later = NOW + timedelta(seconds=0.7)
    kitchen = store.note_capture(_cap("kitchen", 0.5), now=later)
    store.note_capture(_cap("hall", 5.0), now=later)
    assert 0 < tv.seq < kitchen.seq
    assert (tv.noted_at, kitchen.noted_at) == (NOW, later)
    again = store.note_capture(_cap("kitchen", 0.5), now=later + timedelta(seconds=3))
    assert again == kitchen, "one report per utterance, registered when it first came"
    found = store.peers(around=NOW + timedelta(seconds=0.5), seconds=1.5, exclude_device="kitchen")
    assert found == [tv]
    assert (found[0].household, found[0].audio_print, found[0].level) == (
        "flat-1",
        b"\x02" * 10,
        -20.0,
    )
    with store.turn(user_id="u-tv", session_id=None, now=NOW) as tx:
        tx.mark_answered(device_id="tv-room", utterance_id="u1")
    (answered,) = store.peers(around=NOW, seconds=0.1, exclude_device="kitchen")
    assert answered.answered
    # A capture noted 20 s later sweeps out everything noted more than keep_seconds before.
    store.note_capture(_cap("x", 20.0), now=NOW + timedelta(seconds=20), keep_seconds=10.0)
    assert store.peers(around=NOW, seconds=60, exclude_device="x") == []


def test_captures_expire_by_the_servers_clock_not_a_devices(store: SqlStore) -> None:
    """A device whose clock runs ahead (within the accepted skew) reports a capture: its time
    must not sweep the other homes' registrations of the moment (an advert's peers would be
    gone, and the next home to report it would be offered); nor does a device clock running
    behind make a capture expire as soon as it is noted."""
    tv = store.note_capture(_cap("tv-room", 0.0, household="flat-1"), now=NOW)
    store.note_capture(_cap("fast", 60.0, household="flat-2"), now=NOW + timedelta(seconds=0.2))
    slow = store.note_capture(
        _cap("slow", -60.0, household="flat-3"), now=NOW + timedelta(seconds=0.3)
    )
    store.note_capture(_cap("kitchen", 0.1, household="flat-4"), now=NOW + timedelta(seconds=0.4))
    assert store.peers(around=NOW, seconds=1.5, exclude_device="kitchen") == [tv]
    assert store.peers(around=slow.at, seconds=1.5, exclude_device="kitchen") == [slow]


def test_a_later_report_of_a_capture_keeps_its_place_and_grows_its_prints(store: SqlStore) -> None:
    """A streamed opening (audio print only) is registered first; the whole capture's report
    keeps the opening's order and time and adds its transcript print; a shorter audio print
    never replaces a longer one."""
    opening = store.note_capture(
        PeerCapture(device_id="den", at=NOW, utterance_id="u7", audio_print=b"\x05" * 40),
        now=NOW,
    )
    whole = store.note_capture(
        PeerCapture(
            device_id="den",
            at=NOW,
            utterance_id="u7",
            text_print=b"\x06" * 16,
            audio_print=b"\x07" * 8,
        ),
        now=NOW + timedelta(seconds=2),
    )
    assert (whole.seq, whole.noted_at) == (opening.seq, NOW)
    assert (whole.text_print, whole.audio_print) == (b"\x06" * 16, b"\x05" * 40)
    (seen,) = store.peers(around=NOW, seconds=1, exclude_device="other")
    assert (seen.text_print, seen.audio_print, seen.noted_at) == (b"\x06" * 16, b"\x05" * 40, NOW)


def test_an_id_reused_for_another_capture_is_a_new_registration(store: SqlStore) -> None:
    first = store.note_capture(
        PeerCapture(device_id="den", at=NOW, utterance_id="u1", text_print=b"\x01" * 16), now=NOW
    )
    later = NOW + timedelta(seconds=4)
    second = store.note_capture(
        PeerCapture(device_id="den", at=later, utterance_id="u1", text_print=b"\x02" * 8),
        now=later,
    )
    assert second.noted_at == later and first.noted_at == NOW
    assert second.text_print == b"\x02" * 8, "not the earlier capture's longer print"
    [kept] = store.peers(around=later, seconds=60, exclude_device="nobody")
    assert (kept.at, kept.text_print) == (later, b"\x02" * 8)


def test_a_capture_moves_to_the_device_its_turn_named(store: SqlStore) -> None:
    opening = store.note_capture(
        PeerCapture(
            device_id="listener", at=NOW, utterance_id="listener/u1", audio_print=b"\x05" * 40
        ),
        now=NOW,
    )
    assert store.move_capture(
        device_id="listener",
        utterance_id="listener/u1",
        to_device="ha:sat-1",
        to_household="kim",
        to_utterance_id="ha%3Asat-1/u1",
    )
    [moved] = store.peers(around=NOW, seconds=1, exclude_device="nobody")
    assert (moved.device_id, moved.household, moved.utterance_id) == (
        "ha:sat-1",
        "kim",
        "ha%3Asat-1/u1",
    )
    assert (moved.seq, moved.noted_at, moved.audio_print) == (opening.seq, NOW, b"\x05" * 40)
    assert not store.move_capture(
        device_id="listener",
        utterance_id="listener/u1",
        to_device="x",
        to_household="x",
        to_utterance_id="x/u1",
    ), "nothing left to move"
    store.note_capture(
        PeerCapture(device_id="b", at=NOW, utterance_id="b/1", text_print=b"\x01" * 8), now=NOW
    )
    assert not store.move_capture(
        device_id="ha:sat-1",
        utterance_id="ha%3Asat-1/u1",
        to_device="b",
        to_household="b",
        to_utterance_id="b/1",
    ), "the new key is taken"


def test_known_media_keeps_fingerprints_only(store: SqlStore) -> None:
    advert = KnownMedia(id="m1", name="coffee-ad.wav", added_at=NOW, audio_print=b"\x03" * 20)
    store.add_media(advert)
    assert store.known_media() == [advert]
    with pytest.raises(BadValueError, match="taken"):
        store.add_media(advert)
    assert store.remove_media("m1") is True
    assert store.remove_media("m1") is False
    assert store.known_media() == []


def test_forget_user_erases_everything_personal_and_chain_still_verifies(
    store: SqlStore,
    checkpoint_dir: Path,
) -> None:
    for n in range(3):
        record(store, n)
    record(store, 9, user="bob")
    store.record_declined(user_id="user-1", offer_id="shoes-1", decision_id=None, now=NOW)
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    store.audit_checkpoint(checkpoint_dir)
    removed = store.forget_user("user-1")
    assert removed > 0
    dump = json.dumps(
        rows(store, audit_log) + rows(store, utterances) + rows(store, decisions), default=str
    )
    assert "user-1" not in dump, dump[max(0, dump.find("user-1") - 300) : dump.find("user-1") + 50]
    assert [r["id"] for r in rows(store, utterances)] == ["u9-bob"]
    assert store.get_decision("d0") is None
    assert store.get_decision("d9-bob") is not None
    report = store.audit_verify(checkpoint_dir)
    assert report.ok, report.problems
    assert report.count == 7  # 3 + 1 decisions, declined, opt-out, forget
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        assert tx.user_state() == UserState(user_id="user-1")
    assert store.forget_user("user-1") == 0


def test_purge_removes_expired_transcripts_only(store_url: str, tmp_path: Path) -> None:
    short = open_store(store_url, retention=timedelta(days=1))
    assert isinstance(short, SqlStore)
    try:
        record(short, 1, now=NOW - timedelta(days=2))
        record(short, 2, now=NOW)
        assert short.purge_expired(NOW) == 1
        assert [r["id"] for r in rows(short, utterances)] == ["u2"]
        assert short.purge_expired(NOW) == 0
        assert short.get_decision("d1") is not None  # the decision stays in the log
        assert short.audit_verify().ok
    finally:
        short.close()


def test_purge_with_a_retention_goes_by_when_the_utterance_was_spoken(store: SqlStore) -> None:
    with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
        tx.record(
            utterance=utterance("fresh", at=NOW - timedelta(minutes=5)),
            decision=decision("d-fresh", utterance_id="fresh"),
            consent=tx.user_state(),
        )
    assert store.purge_expired(NOW) == 0  # written with the store's 30-day expiry
    assert store.purge_expired(NOW, retention=timedelta(days=365)) == 0
    assert store.purge_expired(NOW, retention=timedelta(minutes=5)) == 0  # not before the cutoff
    assert [r["id"] for r in rows(store, utterances)] == ["fresh"]
    assert store.purge_expired(NOW, retention=timedelta(minutes=1)) == 1
    assert rows(store, utterances) == []
    assert store.get_decision("d-fresh") is not None  # the decision stays in the log
    assert store.audit_verify().ok
    for bad in (timedelta(0), timedelta(days=-1), timedelta(days=999_999_999)):
        with pytest.raises(BadValueError, match="retention: expected"):
            store.purge_expired(NOW, retention=bad)


def test_export_writes_one_json_line_per_record(store: SqlStore) -> None:
    record(store, 1)
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    out = io.StringIO()
    assert store.audit_export(out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["seq"], r["kind"]) for r in lines] == [(1, "decision"), (2, "opt_out")]
    assert lines[0]["payload"]["decision"]["id"] == "d1"
    assert lines[0]["payload"]["utterance"]["text"] is None


def test_checkpoint_written_every_n_records(store: SqlStore, checkpoint_dir: Path) -> None:
    for n in range(4):
        record(store, n)
    assert not checkpoint_dir.exists()
    record(store, 4)
    (written,) = checkpoint_dir.iterdir()
    heads = json.loads(written.read_text())["body"]["heads"]
    assert heads[str(store.shard_of("user-1"))][0] == 5
    assert store.audit_verify().ok  # the configured checkpoint is used by default


def test_schema_migrates_once_and_reopens(store_url: str) -> None:
    for _ in range(2):
        s = open_store(store_url)
        assert isinstance(s, SqlStore)
        try:
            assert s.ping()
            with s._engine.connect() as conn:
                assert conn.execute(select(func.count()).select_from(audit_log)).scalar() == 0
        finally:
            s.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x/y", "expected scheme 'sqlite' or 'postgresql', got 'mysql'"),
        ("sqlite://", "expected a database file 'sqlite:///FILE'"),
        ("askfirst.db", "expected 'sqlite:///FILE' or 'postgresql://...', got 'askfirst.db'"),
    ],
)
def test_bad_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(BadValueError, match=message):
        open_store(url)


def test_naive_times_and_empty_ids_are_refused(store: SqlStore) -> None:
    with pytest.raises(BadValueError, match="now: expected a timezone-aware datetime"):
        store.turn(user_id="u", session_id=None, now=datetime(2024, 1, 1)).__enter__()
    with pytest.raises(BadValueError, match="user_id: expected a non-empty string, got ''"):
        store.set_opt_out(user_id="", opted_out=True, now=NOW)
    with pytest.raises(BadValueError, match="seconds: expected a finite number"):
        store.peers(around=NOW, seconds=float("nan"), exclude_device="d")
    with pytest.raises(BadValueError, match="expected a ListeningWindow, got str"):
        store.put_window("w1")  # type: ignore[arg-type]


def test_now_in_any_zone_is_stored_as_utc(store: SqlStore) -> None:
    local = NOW.astimezone(datetime.now(UTC).astimezone().tzinfo)
    record(store, 1, now=local)
    (row,) = rows(store, decisions)
    assert row["at"] == "2024-05-17T12:30:00.000000+00:00"
