"""Read-only queries for people looking at the log: recent turns with filters, one turn's record.

Everything here reads; nothing takes a writer's lock. A turn is listed from its decision record
in the audit log (so it stays listed after its transcript is purged, and shows as erased after
``user forget``), joined to what the store still holds of its utterance. Ambient utterances
have no text in the store, so none can ever be returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, tuple_

from askfirst.policy.values import Decision
from askfirst.store.chain import digest_of
from askfirst.store.codec import decision_from_json
from askfirst.store.errors import BadValueError
from askfirst.store.schema import audit_log, chain_head, db_time, decisions, utterances

MAX_PAGE = 200
"""The most turns one page may hold."""
SCAN_LIMIT = 5000
"""The most decision records one page read looks at when filtering by device or tag."""


@dataclass(frozen=True, slots=True)
class TurnFilter:
    """Which turns to list; every field that is None matches everything."""

    device_id: str | None = None
    user_id: str | None = None
    """The store's user key (``household:flat-12:ben``), or its last part (``ben``)."""
    tag: str | None = None
    """"prompted" or "ambient"."""
    rule: str | None = None
    """The deciding rule id, e.g. "R1.prompted" or "permit"."""
    offer: bool | None = None
    """True: only turns that made an offer; False: only turns that did not."""
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and self.tag not in ("prompted", "ambient"):
            raise BadValueError(f"tag: expected 'prompted' or 'ambient', got {self.tag!r}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                db_time(value, field=name)


@dataclass(frozen=True, slots=True)
class TurnSummary:
    """One listed turn: what its decision record and the store still hold."""

    seq: int
    """The decision record's position in its shard's chain."""
    decision_id: str
    at: datetime
    permit: bool
    rule: str
    user_id: str | None
    """The store's key for the user (consent and caps); None once erased by ``user forget``."""
    device_id: str | None
    tag: str | None
    tag_reasons: tuple[str, ...]
    decision: Decision | None
    """None once the record's payload was erased."""
    text: str | None
    """The prompted transcript while the store keeps it; always None for ambient turns."""
    shard: int = 0
    """The audit shard whose chain holds the record."""

    @property
    def cursor(self) -> str:
        """Where a page ending with this turn continues (``recent_turns(before=...)``)."""
        return f"{self.at.isoformat()}|{self.shard}|{self.seq}"

    @property
    def offered(self) -> bool:
        """Whether an offer was made (permitted with a catalog entry)."""
        return self.permit and self.decision is not None and self.decision.offer is not None


@dataclass(frozen=True, slots=True)
class TurnPage:
    """A page of turns, newest first, and the cursor to continue below (None at the end)."""

    turns: tuple[TurnSummary, ...]
    next_before: str | None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision with its audit record and where that record sits in the chain."""

    turn: TurnSummary
    hash: str
    digest: str
    policy_hash: str | None
    erased_by: int | None
    chain_length: int
    """How many records the record's shard chain holds now (it is ``turn.seq`` of these)."""
    payload: dict[str, Any] | None = field(default=None)
    """The record's payload as stored (user id, session, redacted utterance, consent)."""


def parse_cursor(value: str) -> tuple[str, int, int]:
    """A page cursor ("AT|SHARD|SEQ", as ``TurnSummary.cursor`` gives it) as its sort key."""
    parts = value.split("|") if isinstance(value, str) else []
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise BadValueError(f"before: expected a cursor 'AT|SHARD|SEQ', got {value!r}")
    try:
        at = db_time(datetime.fromisoformat(parts[0]), field="before")
    except ValueError:
        raise BadValueError(f"before: expected a cursor 'AT|SHARD|SEQ', got {value!r}") from None
    return at, int(parts[1]), int(parts[2])


def recent_turns(
    conn: Connection, *, where: TurnFilter, limit: int = 50, before: str | None = None
) -> TurnPage:
    """Turns newest first (by record time, then shard and seq), matching ``where``, below the
    cursor ``before`` when given."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise BadValueError(f"limit: expected an integer from 1 to {MAX_PAGE}, got {limit!r}")
    key = tuple_(audit_log.c.at, audit_log.c.shard, audit_log.c.seq)
    query = _base().where(audit_log.c.kind == "decision")
    if where.rule is not None:
        query = query.where(audit_log.c.rule == where.rule)
    if where.offer is False:
        query = query.where(audit_log.c.permit.is_(False))
    elif where.offer is True:
        query = query.where(audit_log.c.permit.is_(True))
    if where.since is not None:
        query = query.where(audit_log.c.at >= db_time(where.since, field="since"))
    if where.until is not None:
        query = query.where(audit_log.c.at <= db_time(where.until, field="until"))
    # User, device and tag live in the (erasable) payload and the (purgeable) utterance row, so they
    # are matched here, over at most SCAN_LIMIT records per page.
    found: list[TurnSummary] = []
    cursor = None if before is None else parse_cursor(before)
    scanned = 0
    batch = max(limit * 2, 50)
    newest_first = (audit_log.c.at.desc(), audit_log.c.shard.desc(), audit_log.c.seq.desc())
    while True:
        page = query if cursor is None else query.where(key < tuple_(*cursor))
        rows = conn.execute(page.order_by(*newest_first).limit(batch)).all()
        for row in rows:
            scanned += 1
            cursor = (str(row.at), int(row.shard), int(row.seq))
            turn = _summary(row)
            if _matches(turn, where):
                found.append(turn)
                if len(found) == limit:
                    return TurnPage(turns=tuple(found), next_before=turn.cursor)
        if len(rows) < batch:
            return TurnPage(turns=tuple(found), next_before=None)
        if scanned >= SCAN_LIMIT and cursor is not None:
            at, shard, seq = cursor
            return TurnPage(turns=tuple(found), next_before=f"{at}|{shard}|{seq}")


def decision_record(conn: Connection, decision_id: str) -> DecisionRecord | None:
    """The decision ``decision_id`` with its audit record; None when there is no such record."""
    row = conn.execute(
        _base()
        .add_columns(audit_log.c.hash, audit_log.c.digest, audit_log.c.erased_by)
        .where(audit_log.c.kind == "decision", audit_log.c.decision_id == decision_id)
        .order_by(audit_log.c.at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    length = int(
        conn.execute(select(chain_head.c.seq).where(chain_head.c.id == row.shard)).scalar_one()
    )
    return DecisionRecord(
        turn=_summary(row),
        hash=str(row.hash),
        digest=str(row.digest),
        policy_hash=row.policy_hash,
        erased_by=None if row.erased_by is None else int(row.erased_by),
        chain_length=length,
        payload=_payload(row),
    )


@dataclass(frozen=True, slots=True)
class LogSummary:
    """Counts over the whole audit log."""

    records: int
    decisions: int
    erased: int
    """Records whose payload was erased by ``user forget``."""
    forgets: int
    """How many ``user forget`` erasures were made."""
    purges: int


def log_summary(conn: Connection) -> LogSummary:
    """How many records, decisions, erased payloads, erasures and purges the log holds."""
    rows = conn.execute(select(audit_log.c.kind, func.count()).group_by(audit_log.c.kind))
    kinds = {str(kind): int(count) for kind, count in rows}
    erased = conn.execute(
        select(func.count()).select_from(audit_log).where(audit_log.c.erased_by.is_not(None))
    ).scalar_one()
    return LogSummary(
        records=int(sum(kinds.values())),
        decisions=int(kinds.get("decision", 0)),
        erased=int(erased),
        forgets=int(kinds.get("forget", 0)),
        purges=int(kinds.get("purge", 0)),
    )


def _base() -> Any:
    """Decision records with what the store still holds of their utterance."""
    return select(
        audit_log.c.shard,
        audit_log.c.seq,
        audit_log.c.at,
        audit_log.c.decision_id,
        audit_log.c.permit,
        audit_log.c.rule,
        audit_log.c.policy_hash,
        audit_log.c.user_id,
        audit_log.c.payload,
        audit_log.c.digest.label("record_digest"),
        utterances.c.device_id.label("u_device_id"),
        utterances.c.tag.label("u_tag"),
        utterances.c.text.label("u_text"),
    ).select_from(
        audit_log.outerjoin(decisions, decisions.c.id == audit_log.c.decision_id).outerjoin(
            utterances, utterances.c.id == decisions.c.utterance_id
        )
    )


def _payload(row: Row[Any]) -> dict[str, Any] | None:
    """The record's payload when present and matching its chained digest."""
    if row.payload is None or digest_of(row.payload) != row.record_digest:
        return None
    obj = json.loads(row.payload)
    return obj if isinstance(obj, dict) else None


def _summary(row: Row[Any]) -> TurnSummary:
    payload = _payload(row)
    utterance = payload.get("utterance") if payload else None
    utterance = utterance if isinstance(utterance, dict) else {}
    decision = None
    if payload is not None and payload.get("decision") is not None:
        decision = decision_from_json(payload["decision"])
    tag = utterance.get("tag") or row.u_tag
    reasons = utterance.get("tag_reasons") or ()
    return TurnSummary(
        seq=int(row.seq),
        shard=int(row.shard),
        decision_id=str(row.decision_id),
        at=datetime.fromisoformat(str(row.at)),
        permit=bool(row.permit),
        rule=str(row.rule),
        user_id=row.user_id,
        device_id=utterance.get("device_id") or row.u_device_id,
        tag=None if tag is None else str(tag),
        tag_reasons=tuple(str(r) for r in reasons),
        decision=decision,
        text=row.u_text if tag == "prompted" else None,
    )


def _matches(turn: TurnSummary, where: TurnFilter) -> bool:
    if where.user_id is not None and where.user_id not in (
        turn.user_id,
        (turn.user_id or "").rsplit(":", 1)[-1],
    ):
        return False
    if where.device_id is not None and turn.device_id != where.device_id:
        return False
    return where.tag is None or turn.tag == where.tag
