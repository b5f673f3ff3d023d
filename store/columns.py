"""The columns kept outside the audit chain, checked against it while ``audit verify`` walks it.

Caps and look-ups read the ``decisions`` index, and transcripts live in ``utterances``: neither is
chained, so an edit there (a cap reset by deleting rows, a decision moved to another user, a
transcript rewritten) would pass a chain-only check. Every decision row must equal what its
chained record says, every decision record (not erased, not past the decision retention a purge
record names) must still have its row, and every kept transcript must match the salted digest its
decision record chains.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Column, Connection, Row, Table, select, tuple_

from askfirst.store.chain import StoredRecord
from askfirst.store.schema import audit_log, decisions, utterances

logger = logging.getLogger(__name__)


def text_digest(salt: str, text: str) -> str:
    """The digest a decision record chains for its transcript: sha256 over a random salt (kept
    with the transcript, deleted with it) and the text."""
    return hashlib.sha256(f"{salt}\n{text}".encode()).hexdigest()


class ColumnCheck:
    """Fed every record in (shard, seq) order; reports through ``problem``."""

    def __init__(self, conn: Connection, *, problem: Callable[[str], None]) -> None:
        self._problem = problem
        self._cutoff = _decision_cutoff(conn)
        self._decisions = _Cursor(
            _ordered(conn, decisions, decisions.c.shard, decisions.c.seq, where=None)
        )
        self._utterances = _Cursor(
            _ordered(
                conn,
                utterances,
                utterances.c.record_shard,
                utterances.c.record_seq,
                where=utterances.c.record_seq.is_not(None),
            )
        )

    def feed(self, record: StoredRecord) -> None:
        key = (record.shard, record.link.seq)
        where = f"shard {record.shard}, record seq {record.link.seq}"
        for stray in self._decisions.before(key):
            self._problem(f"decision {stray.id!r} has no matching audit record")
        for stray in self._utterances.before(key):
            self._problem(f"utterance {stray.id!r} names no decision record of its own")
        row = self._decisions.at(key)
        body = _payload(record)
        if record.link.kind == "decision":
            self._decision(record, row, body, where)
        elif row is not None:
            self._problem(f"decision {row.id!r} has no matching audit record ({where} is not one)")
        spoken = self._utterances.at(key)
        if spoken is not None:
            self._utterance(spoken, body, where)

    def finish(self) -> None:
        for row in self._decisions.rest():
            self._problem(f"decision {row.id!r} has no matching audit record")
        for row in self._utterances.rest():
            self._problem(f"utterance {row.id!r} names no decision record of its own")

    def _decision(
        self, record: StoredRecord, row: Row[Any] | None, body: dict[str, Any] | None, where: str
    ) -> None:
        if body is None:
            if row is not None and record.payload is None:
                self._problem(f"{where}: erased, but its decision row {row.id!r} is still kept")
            return
        decision = _object(body.get("decision"))
        expected = {
            "id": record.link.decision_id,
            "user_id": body.get("user_id"),
            "session_id": body.get("session_id"),
            "utterance_id": _object(body.get("utterance")).get("id"),
            "at": record.link.at,
            "permit": record.link.permit,
            "has_offer": decision.get("offer") is not None,
        }
        if row is None:
            if self._cutoff is None or record.link.at >= self._cutoff:
                self._problem(
                    f"{where}: decision {record.link.decision_id!r} has no row in the decisions "
                    "index (it was deleted; caps and duplicate checks no longer see it)"
                )
            return
        found = {name: getattr(row, name) for name in expected}
        found["permit"] = bool(found["permit"])
        found["has_offer"] = bool(found["has_offer"])
        changed = sorted(name for name in expected if found[name] != expected[name])
        if changed:
            self._problem(
                f"decision {row.id!r} has no matching audit record: its row differs from "
                f"{where} in {', '.join(changed)} (the decisions index was edited)"
            )

    def _utterance(self, row: Row[Any], body: dict[str, Any] | None, where: str) -> None:
        said = _object((body or {}).get("utterance"))
        if body is None:
            self._problem(f"utterance {row.id!r}: its decision record {where} was erased")
            return
        if row.id != said.get("id") or row.user_id != body.get("user_id"):
            self._problem(f"utterance {row.id!r}: its row differs from {where} (edited)")
        if row.text is None:
            return
        chained = said.get("text_digest")
        if chained is None or row.text_salt is None:
            self._problem(f"utterance {row.id!r}: keeps a transcript {where} does not cover")
        elif text_digest(row.text_salt, row.text) != chained:
            self._problem(
                f"utterance {row.id!r}: its transcript does not match the digest chained in "
                f"{where} (the transcript was edited)"
            )


class _Cursor:
    """A sorted row stream read alongside the records (a merge join on (shard, seq))."""

    def __init__(self, rows: Iterator[tuple[tuple[int, int], Row[Any]]]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def before(self, key: tuple[int, int]) -> Iterator[Row[Any]]:
        while self._next is not None and self._next[0] < key:
            yield self._next[1]
            self._next = next(self._rows, None)

    def at(self, key: tuple[int, int]) -> Row[Any] | None:
        found = None
        while self._next is not None and self._next[0] == key:
            found = self._next[1]  # a (shard, seq) is unique in both tables
            self._next = next(self._rows, None)
        return found

    def rest(self) -> Iterator[Row[Any]]:
        while self._next is not None:
            yield self._next[1]
            self._next = next(self._rows, None)


def _ordered(
    conn: Connection,
    table: Table,
    shard: Column[Any],
    seq: Column[Any],
    *,
    where: Any,
    batch: int = 2000,
) -> Iterator[tuple[tuple[int, int], Row[Any]]]:
    last = (-1, 0)
    while True:
        query = select(table).where(tuple_(shard, seq) > tuple_(*last))
        if where is not None:
            query = query.where(where)
        rows = conn.execute(query.order_by(shard, seq).limit(batch)).all()
        for row in rows:
            key = (int(getattr(row, shard.name)), int(getattr(row, seq.name)))
            yield key, row
        if len(rows) < batch:
            return
        last = key


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _payload(record: StoredRecord) -> dict[str, Any] | None:
    if record.payload is None:
        return None
    try:
        body = json.loads(record.payload)
    except json.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _decision_cutoff(conn: Connection) -> str | None:
    """The latest decision retention cutoff a purge record names (rows before it are gone)."""
    cutoff = None
    rows = conn.execute(select(audit_log.c.payload).where(audit_log.c.kind == "purge")).all()
    for row in rows:
        body = json.loads(row.payload) if row.payload else {}
        before = body.get("decisions_before") if isinstance(body, dict) else None
        if isinstance(before, str) and (cutoff is None or before > cutoff):
            cutoff = before
    return cutoff
