"""Appending to, verifying and exporting the audit log inside a database transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, Row, or_, select, update

from askfirst.store.chain import (
    ChainVerifier,
    Checkpoint,
    Link,
    StoredRecord,
    VerifyReport,
    canonical,
    digest_of,
    link_hash,
)
from askfirst.store.errors import BadValueError
from askfirst.store.limits import MAX_PAYLOAD_BYTES, check_size
from askfirst.store.schema import audit_log, chain_head, decisions
from askfirst.store.statements import Sql, run

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Appended:
    """The seq and hash of a record this transaction appended."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A record ready to append; its canonical payload and digest are computed before any lock."""

    kind: str
    at: str
    body: str
    """The canonical payload text (erasable; the chain commits to its digest)."""
    digest: str
    user_id: str | None = None
    decision_id: str | None = None
    permit: bool | None = None
    rule: str | None = None
    policy_hash: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionIndex:
    """The ``decisions`` row written with a decision record (caps and look-ups read it)."""

    id: str
    user_id: str
    session_id: str | None
    utterance_id: str
    at: str
    permit: bool
    has_offer: bool


def entry(
    *,
    kind: str,
    at: str,
    payload: dict[str, Any],
    user_id: str | None = None,
    decision_id: str | None = None,
    permit: bool | None = None,
    rule: str | None = None,
    policy_hash: str | None = None,
) -> Entry:
    """Serialise and digest ``payload`` (pure; do it before taking locks); FieldTooLarge when
    the payload is over ``MAX_PAYLOAD_BYTES``."""
    body = canonical(payload)
    check_size(body, f"the {kind!r} audit record", MAX_PAYLOAD_BYTES)
    return Entry(
        kind=kind,
        at=at,
        body=body,
        digest=digest_of(body),
        user_id=user_id,
        decision_id=decision_id,
        permit=permit,
        rule=rule,
        policy_hash=policy_hash,
    )


HEAD_FOR_APPEND = Sql.of(
    "SELECT seq, hash FROM chain_head WHERE id = 1",
    postgresql="SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE",
)
"""On PostgreSQL the head row's lock serialises appends until commit; SQLite's BEGIN IMMEDIATE
already holds the database's single write lock."""

INSERT_RECORD = Sql.of(
    """
    INSERT INTO audit_log (seq, at, kind, digest, decision_id, permit, rule, policy_hash, hash,
                           payload, erased_by, user_id)
    VALUES (:seq, :at, :kind, :digest, :decision_id, :permit, :rule, :policy_hash, :hash,
            :payload, NULL, :user_id)
    """
)
MOVE_HEAD = Sql.of("UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = 1")
INSERT_DECISION = Sql.of(
    """
    INSERT INTO decisions (id, seq, user_id, session_id, utterance_id, at, permit, has_offer)
    VALUES (:d_id, :seq, :d_user_id, :d_session_id, :d_utterance_id, :at, :d_permit,
            :d_has_offer)
    """
)
PG_APPEND = Sql.of(
    "SELECT 'PostgreSQL only'",
    postgresql="""
    WITH moved AS (UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = 1)
    INSERT INTO audit_log (seq, at, kind, digest, decision_id, permit, rule, policy_hash, hash,
                           payload, erased_by, user_id)
    VALUES (:seq, :at, :kind, :digest, :decision_id, :permit, :rule, :policy_hash, :hash,
            :payload, NULL, :user_id)
    """,
)
"""PostgreSQL: MOVE_HEAD and INSERT_RECORD in one round trip, inside the head lock."""
PG_APPEND_DECISION = Sql.of(
    "SELECT 'PostgreSQL only'",
    postgresql="""
    WITH moved AS (UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = 1),
    logged AS (
      INSERT INTO audit_log (seq, at, kind, digest, decision_id, permit, rule, policy_hash,
                             hash, payload, erased_by, user_id)
      VALUES (:seq, :at, :kind, :digest, :decision_id, :permit, :rule, :policy_hash, :hash,
              :payload, NULL, :user_id)
    )
    INSERT INTO decisions (id, seq, user_id, session_id, utterance_id, at, permit, has_offer)
    VALUES (:d_id, :seq, :d_user_id, :d_session_id, :d_utterance_id, :at, :d_permit,
            :d_has_offer)
    """,
)
"""PostgreSQL: PG_APPEND and INSERT_DECISION in one round trip."""


def append(conn: Connection, record: Entry, *, index: DecisionIndex | None = None) -> Appended:
    """Append one record after the chain head (and its decision index row), in the caller's
    transaction. On PostgreSQL this takes the head row's lock, held until commit: call it as
    late in the transaction as possible."""
    what = f"appending a {record.kind!r} audit record"
    (head_row,) = run(conn, HEAD_FOR_APPEND, {}, what=what)
    link = Link(
        seq=int(head_row[0]) + 1,
        at=record.at,
        kind=record.kind,
        digest=record.digest,
        decision_id=record.decision_id,
        permit=record.permit,
        rule=record.rule,
        policy_hash=record.policy_hash,
    )
    new_hash = link_hash(str(head_row[1]), link)
    params: dict[str, Any] = {
        "seq": link.seq,
        "at": link.at,
        "kind": link.kind,
        "digest": link.digest,
        "decision_id": link.decision_id,
        "permit": link.permit,
        "rule": link.rule,
        "policy_hash": link.policy_hash,
        "hash": new_hash,
        "payload": record.body,
        "user_id": record.user_id,
    }
    if index is not None:
        params.update(
            d_id=index.id,
            d_user_id=index.user_id,
            d_session_id=index.session_id,
            d_utterance_id=index.utterance_id,
            d_permit=index.permit,
            d_has_offer=index.has_offer,
        )
    if conn.dialect.name == "postgresql":
        run(conn, PG_APPEND if index is None else PG_APPEND_DECISION, params, what=what)
    else:
        run(conn, INSERT_RECORD, params, what=what)
        run(conn, MOVE_HEAD, params, what=what)
        if index is not None:
            run(conn, INSERT_DECISION, params, what=what)
    return Appended(seq=link.seq, hash=new_hash)


def head(conn: Connection) -> tuple[int, str]:
    """The chain head row: (record count, last hash)."""
    row = conn.execute(
        select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)
    ).one()
    return int(row.seq), str(row.hash)


def records(conn: Connection, *, batch: int = 2000) -> Iterator[StoredRecord]:
    """Every audit record in seq order, read in batches."""
    last = 0
    while True:
        rows = conn.execute(
            select(audit_log).where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        for row in rows:
            yield _stored(row)
        if len(rows) < batch:
            return
        last = int(rows[-1].seq)


PROGRESS_EVERY = 1000
"""``verify`` reports its progress after every this many records."""


def verify(
    conn: Connection,
    *,
    checkpoint: Checkpoint | None,
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk the chain; also check the head row, the checkpoint and that every decision is logged.

    ``progress(records_checked)`` is called every :data:`PROGRESS_EVERY` records."""
    verifier = ChainVerifier(checkpoint=checkpoint)
    for checked, record in enumerate(records(conn), start=1):
        verifier.feed(record)
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(checked)
    report = verifier.finish(head=head(conn))
    orphans = conn.execute(
        select(decisions.c.id)
        .select_from(decisions.outerjoin(audit_log, audit_log.c.seq == decisions.c.seq))
        .where(
            or_(
                audit_log.c.seq.is_(None),
                audit_log.c.decision_id.is_(None),
                audit_log.c.decision_id != decisions.c.id,
                audit_log.c.permit != decisions.c.permit,
            )
        )
        .limit(20)
    ).all()
    if not orphans:
        return report
    problems = [*report.problems]
    problems += [
        f"decision {row.id!r} has no matching audit record (or its permit differs)"
        for row in orphans
    ]
    return VerifyReport(ok=False, count=report.count, head=report.head, problems=problems)


def export(conn: Connection, out: TextIO) -> int:
    """Write every record as one JSON line; erased payloads appear as null."""
    count = 0
    for record in records(conn):
        link = record.link
        line = {
            "seq": link.seq,
            "at": link.at,
            "kind": link.kind,
            "digest": link.digest,
            "decision_id": link.decision_id,
            "permit": link.permit,
            "rule": link.rule,
            "policy_hash": link.policy_hash,
            "hash": record.hash,
            "payload": None if record.payload is None else json.loads(record.payload),
            "erased_by": record.erased_by,
        }
        out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        count += 1
    return count


def count_personal(conn: Connection, user_id: str) -> int:
    """How many records still carry this user's erasable payload."""
    rows = conn.execute(
        select(audit_log.c.seq).where(
            audit_log.c.user_id == user_id, audit_log.c.payload.is_not(None)
        )
    ).all()
    return len(rows)


def erase(conn: Connection, *, user_id: str, by_seq: int) -> int:
    """Drop the payloads (and user link) of a user's records; the chained digests stay."""
    result = conn.execute(
        update(audit_log)
        .where(audit_log.c.user_id == user_id, audit_log.c.seq < by_seq)
        .values(payload=None, user_id=None, erased_by=by_seq)
    )
    return int(result.rowcount)


def _stored(row: Row[Any]) -> StoredRecord:
    return StoredRecord(
        link=Link(
            seq=int(row.seq),
            at=str(row.at),
            kind=str(row.kind),
            digest=str(row.digest),
            decision_id=row.decision_id,
            permit=None if row.permit is None else bool(row.permit),
            rule=row.rule,
            policy_hash=row.policy_hash,
        ),
        hash=str(row.hash),
        payload=row.payload,
        erased_by=None if row.erased_by is None else int(row.erased_by),
    )


def decision_payload(
    conn: Connection, *, decision_id: str | None = None, seq: int | None = None
) -> dict[str, Any] | None:
    """The payload of a decision record by id or seq; None when absent or erased.

    The payload is checked against its chained digest, so an edited record is never explained.
    """
    query = select(audit_log.c.seq, audit_log.c.payload, audit_log.c.digest).where(
        audit_log.c.kind == "decision"
    )
    if decision_id is not None:
        query = query.where(audit_log.c.decision_id == decision_id)
    if seq is not None:
        query = query.where(audit_log.c.seq == seq)
    row = conn.execute(query.order_by(audit_log.c.seq.desc()).limit(1)).first()
    if row is None or row.payload is None:
        return None
    if digest_of(row.payload) != row.digest:
        raise BadValueError(
            f"audit record seq {row.seq}: expected payload digest {row.digest!r}, "
            f"got {digest_of(row.payload)!r} (the record was edited; run 'askfirst audit verify')"
        )
    obj = json.loads(row.payload)
    if not isinstance(obj, dict):
        raise BadValueError(f"audit record seq {row.seq}: expected a JSON object, got {obj!r}")
    return obj
