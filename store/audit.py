"""Appending to, verifying and exporting the audit log inside a database transaction."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, Row, select, tuple_, update

from askfirst.store.chain import (
    ChainVerifier,
    Checkpoint,
    Link,
    StoredRecord,
    VerifyReport,
    canonical,
    digest_of,
    link_hash,
    mac_of,
)
from askfirst.store.columns import ColumnCheck
from askfirst.store.errors import BadValueError
from askfirst.store.limits import MAX_PAYLOAD_BYTES, check_size
from askfirst.store.schema import audit_log, chain_head
from askfirst.store.statements import Sql, run

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Appended:
    """The shard, seq and hash of a record this transaction appended."""

    shard: int
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
    "SELECT seq, hash FROM chain_head WHERE id = :shard",
    postgresql="SELECT seq, hash FROM chain_head WHERE id = :shard FOR UPDATE",
)
"""On PostgreSQL the shard's head row lock serialises that shard's appends until commit;
SQLite's BEGIN IMMEDIATE already holds the database's single write lock."""

_RECORD_COLUMNS = """(shard, seq, at, kind, digest, decision_id, permit, rule, policy_hash, hash,
                       payload, erased_by, user_id, mac)"""
_RECORD_VALUES = """(:shard, :seq, :at, :kind, :digest, :decision_id, :permit, :rule, :policy_hash,
                       :hash, :payload, NULL, :user_id, :mac)"""
INSERT_RECORD = Sql.of(f"INSERT INTO audit_log {_RECORD_COLUMNS} VALUES {_RECORD_VALUES}")  # noqa: S608 - constants
MOVE_HEAD = Sql.of("UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = :shard")
INSERT_DECISION = Sql.of(
    """
    INSERT INTO decisions (id, shard, seq, user_id, session_id, utterance_id, at, permit,
                           has_offer)
    VALUES (:d_id, :shard, :seq, :d_user_id, :d_session_id, :d_utterance_id, :at, :d_permit,
            :d_has_offer)
    """
)
PG_APPEND = Sql.of(
    "SELECT 'PostgreSQL only'",
    postgresql=f"""
    WITH moved AS (UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = :shard)
    INSERT INTO audit_log {_RECORD_COLUMNS} VALUES {_RECORD_VALUES}
    """,  # noqa: S608 - built from the constants above
)
"""PostgreSQL: MOVE_HEAD and INSERT_RECORD in one round trip, inside the head lock."""
PG_APPEND_DECISION = Sql.of(
    "SELECT 'PostgreSQL only'",
    postgresql=f"""
    WITH moved AS (UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = :shard),
    logged AS (INSERT INTO audit_log {_RECORD_COLUMNS} VALUES {_RECORD_VALUES})
    INSERT INTO decisions (id, shard, seq, user_id, session_id, utterance_id, at, permit,
                           has_offer)
    VALUES (:d_id, :shard, :seq, :d_user_id, :d_session_id, :d_utterance_id, :at, :d_permit,
            :d_has_offer)
    """,  # noqa: S608 - built from the constants above
)
"""PostgreSQL: PG_APPEND and INSERT_DECISION in one round trip."""


def append(
    conn: Connection,
    record: Entry,
    *,
    shard: int,
    key: bytes | None,
    index: DecisionIndex | None = None,
) -> Appended:
    """Append one record after its shard's head (and its decision index row), in the caller's
    transaction, with its MAC when there is an audit ``key``. On PostgreSQL this takes the
    shard's head row lock, held until commit: call it as late in the transaction as possible."""
    what = f"appending a {record.kind!r} audit record"
    (head_row,) = run(conn, HEAD_FOR_APPEND, {"shard": shard}, what=what)
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
        "shard": shard,
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
        "mac": None if key is None else mac_of(key, shard, new_hash),
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
    return Appended(shard=shard, seq=link.seq, hash=new_hash)


def heads(conn: Connection) -> dict[int, tuple[int, str]]:
    """Every shard's head row: shard -> (record count, last hash)."""
    rows = conn.execute(select(chain_head.c.id, chain_head.c.seq, chain_head.c.hash)).all()
    return {int(r.id): (int(r.seq), str(r.hash)) for r in rows}


def records(conn: Connection, *, batch: int = 2000) -> Iterator[StoredRecord]:
    """Every audit record in (shard, seq) order, read in batches."""
    last = (-1, 0)
    while True:
        rows = conn.execute(
            select(audit_log)
            .where(tuple_(audit_log.c.shard, audit_log.c.seq) > tuple_(*last))
            .order_by(audit_log.c.shard, audit_log.c.seq)
            .limit(batch)
        ).all()
        for row in rows:
            yield _stored(row)
        if len(rows) < batch:
            return
        last = (int(rows[-1].shard), int(rows[-1].seq))


PROGRESS_EVERY = 1000
"""``verify`` reports its progress after every this many records."""


def verify(
    conn: Connection,
    *,
    key: bytes | None,
    checkpoints: tuple[Checkpoint, ...] = (),
    progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Walk every shard's chain; also check the head rows, the checkpoints, the erasures and the
    columns kept outside the chain (the decisions index, user links, transcripts).

    ``progress(records_checked)`` is called every :data:`PROGRESS_EVERY` records."""
    verifier = ChainVerifier(key=key, checkpoints=checkpoints)
    columns = ColumnCheck(conn, problem=verifier.add_problem)
    for checked, record in enumerate(records(conn), start=1):
        verifier.feed(record)
        columns.feed(record)
        if progress is not None and checked % PROGRESS_EVERY == 0:
            progress(checked)
    columns.finish()
    return verifier.finish(heads=heads(conn))


def export(conn: Connection, out: TextIO) -> int:
    """Write every record as one JSON line; erased payloads appear as null."""
    count = 0
    for record in records(conn):
        link = record.link
        line = {
            "shard": record.shard,
            "seq": link.seq,
            "at": link.at,
            "kind": link.kind,
            "digest": link.digest,
            "decision_id": link.decision_id,
            "permit": link.permit,
            "rule": link.rule,
            "policy_hash": link.policy_hash,
            "hash": record.hash,
            "mac": record.mac,
            "payload": None if record.payload is None else json.loads(record.payload),
            "erased_by": record.erased_by,
        }
        out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
        count += 1
    return count


def personal(conn: Connection, user_id: str) -> dict[int, list[int]]:
    """The records still carrying this user's erasable payload: shard -> seqs."""
    rows = conn.execute(
        select(audit_log.c.shard, audit_log.c.seq).where(
            audit_log.c.user_id == user_id, audit_log.c.payload.is_not(None)
        )
    ).all()
    out: dict[int, list[int]] = {}
    for row in rows:
        out.setdefault(int(row.shard), []).append(int(row.seq))
    return out


def erase(conn: Connection, *, shard: int, seqs: list[int], by_seq: int) -> int:
    """Drop the payloads (and user link) of the listed records of one shard; the chained
    digests stay, and each names the forget record (of the same shard) that erased it."""
    erased = 0
    for chunk in range(0, len(seqs), 500):
        result = conn.execute(
            update(audit_log)
            .where(audit_log.c.shard == shard, audit_log.c.seq.in_(seqs[chunk : chunk + 500]))
            .values(payload=None, user_id=None, erased_by=by_seq)
        )
        erased += int(result.rowcount)
    return erased


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
        shard=int(row.shard),
        mac=row.mac,
        user_id=row.user_id,
    )


def decision_payload(
    conn: Connection, *, decision_id: str | None = None, at: tuple[int, int] | None = None
) -> dict[str, Any] | None:
    """The payload of a decision record by id or seq; None when absent or erased.

    The payload is checked against its chained digest, so an edited record is never explained.
    """
    query = select(audit_log.c.seq, audit_log.c.payload, audit_log.c.digest).where(
        audit_log.c.kind == "decision"
    )
    if decision_id is not None:
        query = query.where(audit_log.c.decision_id == decision_id)
    if at is not None:
        query = query.where(audit_log.c.shard == at[0], audit_log.c.seq == at[1])
    row = conn.execute(query.order_by(audit_log.c.at.desc()).limit(1)).first()
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
