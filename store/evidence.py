"""Reading the audit log as evidence: filtered records, each with the question as asked.

Every record keeps two times apart: ``recorded_at`` (when the server recorded it, the chained
``at``) and, for a decision, ``captured_at`` (when the device heard the utterance). A prompted
decision's line carries ``asked``: the transcript while it is retained (``utterances.text``),
else null with ``transcript_retained: false``, and for an Alexa request the intent name and
slot values the record kept. ``household`` is the capturing device's household (spoken turns;
an Alexa request knows none); ``offer_id`` is the offer the decision considered, permitted or
not (``permit`` says which). Read-only; nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from askfirst.store.errors import BadValueError
from askfirst.store.schema import audit_log, db_time, utterances

KINDS = ("decision", "declined", "opt_out", "child_profile", "forget", "purge")
"""The record kinds ``--kind`` accepts."""
TIME_BASES = ("recorded", "captured")
BATCH = 1000


@dataclass(frozen=True, slots=True)
class EvidenceFilter:
    """Which records to read; every field is optional (None: no condition)."""

    since: datetime | None = None
    """Inclusive."""
    until: datetime | None = None
    """Exclusive."""
    by: str = "recorded"
    """Which time ``since``/``until`` apply to: "recorded" (every record) or "captured"
    (decisions only: when the device heard the utterance)."""
    user: str | None = None
    device: str | None = None
    household: str | None = None
    rule: str | None = None
    """The deciding rule id ("R3.opted_out", "permit")."""
    offers_only: bool = False
    """Only decisions that permitted an offer."""
    kinds: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.by not in TIME_BASES:
            raise BadValueError(f"by: expected one of {TIME_BASES!r}, got {self.by!r}")
        for kind in self.kinds:
            if kind not in KINDS:
                raise BadValueError(f"kind: expected one of {KINDS!r}, got {kind!r}")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise BadValueError(
                f"until: expected a time after since ({self.since.isoformat()}), "
                f"got {self.until.isoformat()}"
            )


def evidence_lines(conn: Connection, where: EvidenceFilter) -> Iterator[dict[str, Any]]:
    """The export line of every record ``where`` selects, in recorded-time order."""
    query = select(audit_log).order_by(audit_log.c.at, audit_log.c.seq)
    if where.by == "recorded":
        if where.since is not None:
            query = query.where(audit_log.c.at >= db_time(where.since, field="since"))
        if where.until is not None:
            query = query.where(audit_log.c.at < db_time(where.until, field="until"))
    if where.kinds:
        query = query.where(audit_log.c.kind.in_(where.kinds))
    if where.offers_only:
        query = query.where(audit_log.c.kind == "decision", audit_log.c.permit.is_(True))
    if where.rule is not None:
        query = query.where(audit_log.c.rule == where.rule)
    if where.user is not None:
        query = query.where(audit_log.c.user_id == where.user)
    if where.by == "captured":
        query = query.where(audit_log.c.kind == "decision")
    result = conn.execute(query.execution_options(yield_per=BATCH))
    for rows in result.partitions(BATCH):
        lines = [_line(dict(row._mapping)) for row in rows]
        _attach_transcripts(conn, lines)
        for line in lines:
            if _selected(line, where):
                yield line


def ambient_text_count(conn: Connection, where: EvidenceFilter) -> int:
    """Ambient utterances kept with text in the period (the database's CHECK makes it 0)."""
    query = select(utterances.c.id).where(
        utterances.c.tag == "ambient", utterances.c.text.is_not(None)
    )
    if where.since is not None:
        query = query.where(utterances.c.at >= db_time(where.since, field="since"))
    if where.until is not None:
        query = query.where(utterances.c.at < db_time(where.until, field="until"))
    return len(conn.execute(query).all())


def decision_line(conn: Connection, decision_id: str) -> dict[str, Any] | None:
    """The export line of one decision record (the latest with that id), or None."""
    row = conn.execute(
        select(audit_log)
        .where(audit_log.c.kind == "decision", audit_log.c.decision_id == decision_id)
        .order_by(audit_log.c.at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    line = _line(dict(row._mapping))
    _attach_transcripts(conn, [line])
    return line


def _line(row: Mapping[str, Any]) -> dict[str, Any]:
    payload = None if row["payload"] is None else json.loads(row["payload"])
    body: Mapping[str, Any] = payload if isinstance(payload, dict) else {}
    utterance = body.get("utterance") or {}
    decision = body.get("decision") or {}
    context = body.get("context") or {}
    offer = decision.get("offer") or {}
    line: dict[str, Any] = {
        "seq": int(row["seq"]),
        "kind": row["kind"],
        "at": row["at"],
        "recorded_at": row["at"],
        "captured_at": utterance.get("at"),
        "digest": row["digest"],
        "hash": row["hash"],
        "decision_id": row["decision_id"],
        "permit": None if row["permit"] is None else bool(row["permit"]),
        "rule": row["rule"],
        "policy_hash": row["policy_hash"],
        "erased_by": row["erased_by"],
        "user_id": body.get("user_id"),
        "device_id": utterance.get("device_id"),
        "household": context.get("household"),
        "tag": utterance.get("tag"),
        "offer_id": offer.get("id"),
        "asked": None,
        "payload": payload,
    }
    if "shard" in row:
        line["shard"] = row["shard"]
    if row["kind"] == "decision" and utterance.get("tag") == "prompted":
        intent = context.get("intent") or {}
        line["asked"] = {
            "utterance_id": utterance.get("id"),
            "transcript": None,
            "transcript_retained": False,
            "intent": intent.get("name"),
            "slots": intent.get("slots") or {},
            "question": decision.get("question"),
        }
    return line


def _attach_transcripts(conn: Connection, lines: Sequence[dict[str, Any]]) -> None:
    """Fill in each prompted decision's transcript while ``utterances`` still keeps it."""
    wanted = {line["asked"]["utterance_id"]: line for line in lines if line["asked"]}
    ids = [i for i in wanted if isinstance(i, str)]
    if not ids:
        return
    rows = conn.execute(
        select(utterances.c.id, utterances.c.text).where(utterances.c.id.in_(ids))
    ).all()
    for row in rows:
        asked = wanted[row.id]["asked"]
        asked["transcript"] = row.text
        asked["transcript_retained"] = row.text is not None


def _selected(line: Mapping[str, Any], where: EvidenceFilter) -> bool:
    """The conditions the SQL could not apply (payload fields, capture time)."""
    if where.device is not None and line["device_id"] != where.device:
        return False
    if where.household is not None and line["household"] != where.household:
        return False
    if where.by == "captured":
        captured = line["captured_at"]
        if captured is None:
            return False
        at = datetime.fromisoformat(captured)
        if where.since is not None and at < where.since:
            return False
        if where.until is not None and at >= where.until:
            return False
    return True
