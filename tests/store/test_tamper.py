"""Tampering with the audit log in the database is detected by verify (both back ends).

The store here holds the audit key (outside the database) and a checkpoint history; the attacker
can write the database but holds neither. Includes the probe's three cases (issue 12, item 11).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, update

from askfirst.store.base import open_store
from askfirst.store.chain import Link, canonical, digest_of, genesis, link_hash
from askfirst.store.errors import BadValueError
from askfirst.store.schema import audit_log, chain_head, decisions, utterances
from askfirst.store.sql import SqlStore
from tests.store.builders import NOW, decision, neighbour, utterance


@pytest.fixture
def logged(store: SqlStore, checkpoint_dir: Path) -> SqlStore:
    """A store with six audit records (four decisions, two consent changes), checkpointed."""
    for n in range(4):
        with store.turn(user_id="user-1", session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance(f"u{n}"),
                decision=decision(f"d{n}", utterance_id=f"u{n}", permit=n % 2 == 0),
                consent=tx.user_state(),
            )
    store.set_opt_out(user_id="user-1", opted_out=True, now=NOW)
    store.set_opt_out(user_id="user-1", opted_out=False, now=NOW)
    assert store.audit_checkpoint(checkpoint_dir).count == 6
    report = store.audit_verify(checkpoint_dir)
    assert report.keyed
    assert report.ok, report.problems
    return store


def run(store: SqlStore, *statements: object) -> None:
    """Raw SQL, as an attacker with database rights would run it."""
    with store._engine.begin() as conn:
        for s in statements:
            conn.execute(s)  # type: ignore[call-overload]


def problems(store: SqlStore, checkpoint: Path | None = None) -> str:
    report = store.audit_verify(checkpoint)
    assert not report.ok
    return "\n".join(report.problems)


def test_edited_payload_is_detected_and_never_explained(logged: SqlStore) -> None:
    with logged._engine.connect() as conn:
        payload = conn.execute(select(audit_log.c.payload).where(audit_log.c.seq == 2)).scalar()
    forged = str(payload).replace('"permit":false', '"permit":true')
    assert forged != payload
    run(logged, update(audit_log).where(audit_log.c.seq == 2).values(payload=forged))
    assert "record seq 2: payload digest" in problems(logged)
    with pytest.raises(BadValueError, match="the record was edited"):
        logged.get_decision("d1")


def test_edited_chained_field_is_detected(logged: SqlStore) -> None:
    run(logged, update(audit_log).where(audit_log.c.seq == 2).values(permit=True))
    found = problems(logged)
    assert "record seq 2: stored hash" in found


def test_edited_cap_index_is_detected(logged: SqlStore) -> None:
    run(logged, update(decisions).where(decisions.c.id == "d0").values(permit=False))
    assert "decision 'd0' has no matching audit record" in problems(logged)


def test_deleted_record_is_detected(logged: SqlStore) -> None:
    run(logged, delete(audit_log).where(audit_log.c.seq == 3))
    found = problems(logged)
    assert "record seq 4: expected seq 3" in found


def test_reordered_records_are_detected(logged: SqlStore) -> None:
    run(
        logged,
        update(audit_log).where(audit_log.c.seq == 2).values(seq=-2),
        update(audit_log).where(audit_log.c.seq == 3).values(seq=2),
        update(audit_log).where(audit_log.c.seq == -2).values(seq=3),
    )
    assert "record seq 2: stored hash" in problems(logged)


def test_inserted_record_is_detected(logged: SqlStore) -> None:
    shard = logged.shard_of("user-1")
    with logged._engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.shard == shard).order_by(audit_log.c.seq.desc())
        ).all()
    statements: list[object] = [
        update(audit_log)
        .where(audit_log.c.shard == shard, audit_log.c.seq == r.seq)
        .values(seq=r.seq + 1)
        for r in rows
        if r.seq >= 3
    ]
    body = canonical({"decision": "forged"})
    statements.append(
        audit_log.insert().values(
            shard=shard,
            seq=3,
            at=rows[0].at,
            kind="decision",
            digest=digest_of(body),
            hash="f" * 64,
            payload=body,
            decision_id="forged",
            permit=True,
        )
    )
    run(logged, *statements)
    assert "record seq 3: stored hash" in problems(logged)


def chain_rows(conn: Connection, shard: int) -> list[Any]:
    return list(
        conn.execute(
            select(audit_log).where(audit_log.c.shard == shard).order_by(audit_log.c.seq)
        ).all()
    )


def rewrite_chain(conn: Connection, shard: int, *, keep: int | None = None) -> None:
    """What an attacker who knows the algorithm (but not the key) does: recompute every hash
    and the head."""
    rows = chain_rows(conn, shard)
    if keep is not None:
        conn.execute(delete(audit_log).where(audit_log.c.shard == shard, audit_log.c.seq > keep))
        rows = rows[:keep]
    prev = genesis(shard)
    for r in rows:
        payload = r.payload.replace('"opt_out":true', '"opt_out":false')
        link = Link(
            seq=r.seq,
            at=r.at,
            kind=r.kind,
            digest=digest_of(payload),
            decision_id=r.decision_id,
            permit=r.permit,
            rule=r.rule,
            policy_hash=r.policy_hash,
        )
        prev = link_hash(prev, link)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.shard == shard, audit_log.c.seq == r.seq)
            .values(payload=payload, digest=link.digest, hash=prev)
        )
    conn.execute(
        update(chain_head).where(chain_head.c.id == shard).values(seq=len(rows), hash=prev)
    )


def test_truncated_log_is_detected_only_with_the_checkpoints(
    logged: SqlStore, checkpoint_dir: Path, store_url: str, tmp_path: Path
) -> None:
    shard = logged.shard_of("user-1")
    with logged._engine.begin() as conn:  # drop the last two records, move the head back
        kept = chain_rows(conn, shard)[:4]
        conn.execute(delete(audit_log).where(audit_log.c.shard == shard, audit_log.c.seq > 4))
        conn.execute(
            update(chain_head).where(chain_head.c.id == shard).values(seq=4, hash=kept[-1].hash)
        )
    empty = tmp_path / "no-checkpoints"
    empty.mkdir()
    assert logged.audit_verify(empty).ok  # every remaining record is intact and keyed
    found = problems(logged, checkpoint_dir)
    assert f"expected at least 6 records in shard {shard}, the log has 4" in found
    assert "(the log was truncated)" in found


def test_rewritten_chain_is_detected_by_the_key_and_the_checkpoints(
    logged: SqlStore, checkpoint_dir: Path, store_url: str
) -> None:
    shard = logged.shard_of("user-1")
    with logged._engine.begin() as conn:
        rewrite_chain(conn, shard)
    unkeyed = open_store(store_url)  # without the key the rewrite is self-consistent
    try:
        assert unkeyed.audit_verify().ok
    finally:
        unkeyed.close()
    found = problems(logged, checkpoint_dir)
    assert "its MAC does not match the audit key" in found
    assert "(the log was rewritten)" in found


def test_checkpoints_are_a_keyed_history(logged: SqlStore, checkpoint_dir: Path) -> None:
    record_more(logged, 1)
    logged.audit_checkpoint(checkpoint_dir)
    files = sorted(checkpoint_dir.iterdir())
    assert len(files) == 3  # at record 5 (automatic), 6 and 7: none overwritten
    saved = json.loads(files[-1].read_text())
    shard = logged.shard_of("user-1")
    assert saved["body"]["heads"][str(shard)][0] == 7
    report = logged.audit_verify(checkpoint_dir)
    assert report.ok, report.problems
    assert (report.checkpoints, report.keyed) == (3, True)


def test_a_hand_written_checkpoint_is_refused(logged: SqlStore, checkpoint_dir: Path) -> None:
    written = sorted(checkpoint_dir.iterdir())[-1]
    saved = json.loads(written.read_text())
    saved["body"]["heads"][str(logged.shard_of("user-1"))] = [2, "0" * 64]
    (checkpoint_dir / "checkpoint-forged.json").write_text(json.dumps(saved))
    assert "its MAC does not match the audit key" in problems(logged, checkpoint_dir)


def record_more(store: SqlStore, n: int, user: str = "user-1") -> None:
    for i in range(n):
        uid = f"more-{user}-{i}"
        with store.turn(user_id=user, session_id="s1", now=NOW) as tx:
            tx.record(
                utterance=utterance(uid, user_id=user),
                decision=decision(f"d-{uid}", utterance_id=uid),
                consent=tx.user_state(),
            )


# -- the probe's three tamper cases (issue 12, item 11) ---------------------------------------


def test_a_payload_wiped_and_marked_erased_by_an_unrelated_forget_record(
    logged: SqlStore,
) -> None:
    other = neighbour(logged)
    record_more(logged, 1, user=other)
    logged.forget_user(other, reference="TICKET-1")
    shard = logged.shard_of("user-1")
    with logged._engine.connect() as conn:
        forget_seq = conn.execute(
            select(audit_log.c.seq).where(audit_log.c.shard == shard, audit_log.c.kind == "forget")
        ).scalar_one()
    run(
        logged,
        update(audit_log)
        .where(audit_log.c.shard == shard, audit_log.c.seq == 2)
        .values(payload=None, user_id=None, erased_by=forget_seq),
    )
    found = problems(logged)
    assert f"marked erased by the 'forget' record seq {forget_seq}, which did not erase it" in found


def test_a_correctly_chained_forged_record_appended_after_the_last_checkpoint(
    logged: SqlStore, checkpoint_dir: Path
) -> None:
    shard = logged.shard_of("user-1")
    with logged._engine.begin() as conn:
        last = chain_rows(conn, shard)[-1]
        body = canonical({"user_id": "user-1", "opt_out": False})
        link = Link(seq=last.seq + 1, at=last.at, kind="opt_out", digest=digest_of(body))
        forged = link_hash(last.hash, link)
        conn.execute(
            audit_log.insert().values(
                shard=shard,
                seq=link.seq,
                at=link.at,
                kind=link.kind,
                digest=link.digest,
                hash=forged,
                payload=body,
                user_id="user-1",
                mac="0" * 64,
            )
        )
        conn.execute(
            update(chain_head).where(chain_head.c.id == shard).values(seq=link.seq, hash=forged)
        )
    found = problems(logged, checkpoint_dir)
    assert f"shard {shard}, record seq 7: its MAC does not match the audit key" in found


@pytest.mark.parametrize(
    "edit",
    ["audit_log.user_id", "decisions.user_id", "deleted decisions row", "utterances.text"],
)
def test_edits_to_columns_outside_the_chain(logged: SqlStore, edit: str) -> None:
    other = neighbour(logged)
    statements = {
        "audit_log.user_id": update(audit_log)
        .where(audit_log.c.decision_id == "d1")
        .values(user_id=other),
        "decisions.user_id": update(decisions).where(decisions.c.id == "d1").values(user_id=other),
        "deleted decisions row": delete(decisions).where(decisions.c.id == "d0"),
        "utterances.text": update(utterances)
        .where(utterances.c.id == "u1")
        .values(text="what cheap sneakers do you recommend"),
    }
    run(logged, statements[edit])
    found = problems(logged)
    expected = {
        "audit_log.user_id": "its user column says",
        "decisions.user_id": "decision 'd1' has no matching audit record: its row differs",
        "deleted decisions row": "decision 'd0' has no row in the decisions index",
        "utterances.text": "utterance 'u1': its transcript does not match the digest",
    }
    assert expected[edit] in found


def test_an_erasure_names_its_request_and_its_count_is_checked(logged: SqlStore) -> None:
    logged.forget_user("user-1", reference="GDPR-2024-17")
    report = logged.audit_verify()
    assert report.ok, report.problems
    with logged._engine.connect() as conn:
        (payload,) = conn.execute(
            select(audit_log.c.payload).where(audit_log.c.kind == "forget")
        ).scalars()
    assert json.loads(payload)["reference"] == "GDPR-2024-17"
    assert json.loads(payload)["erased_records"] == 6
    run(  # one erased record made to point nowhere: the erasure's count no longer holds
        logged,
        update(audit_log)
        .where(audit_log.c.shard == logged.shard_of("user-1"), audit_log.c.seq == 1)
        .values(erased_by=None),
    )
    found = problems(logged)
    assert "expected 6 erased records, found 5 erased by it" in found


def test_without_the_key_a_forged_append_passes(store_url: str, tmp_path: Path) -> None:
    """Why the key matters: an unkeyed log only detects what breaks its hashes."""
    plain = open_store(store_url)
    assert isinstance(plain, SqlStore)
    try:
        record_more(plain, 2)
        shard = plain.shard_of("user-1")
        with plain._engine.begin() as conn:
            last = chain_rows(conn, shard)[-1]
            body = canonical({"user_id": "user-1", "opt_out": True})
            link = Link(seq=last.seq + 1, at=last.at, kind="opt_out", digest=digest_of(body))
            forged = link_hash(last.hash, link)
            conn.execute(
                audit_log.insert().values(
                    shard=shard,
                    seq=link.seq,
                    at=link.at,
                    kind=link.kind,
                    digest=link.digest,
                    hash=forged,
                    payload=body,
                    user_id="user-1",
                )
            )
            conn.execute(
                update(chain_head).where(chain_head.c.id == shard).values(seq=link.seq, hash=forged)
            )
        report = plain.audit_verify()
        assert report.ok and not report.keyed
    finally:
        plain.close()
