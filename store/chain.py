"""The audit log's hash chain, pure: canonical bytes, digests, links and verification.

Each record keeps its erasable payload outside the chained bytes: the chain commits to
``digest = sha256(payload)`` and to the non-personal fields, so erasing a payload (right to
erasure) leaves every link intact while any edit, deletion, insertion or reordering breaks one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
"""The previous-hash of the first record."""
MAX_PROBLEMS = 50
"""Verification stops listing problems after this many (it still counts them)."""


def canonical(obj: Any) -> str:
    """The one JSON text for a value: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(payload: str) -> str:
    """The sha256 of a canonical payload text, hex."""
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Link:
    """The chained, non-personal fields of one audit record."""

    seq: int
    """1 for the first record, then consecutive."""
    at: str
    """ISO-8601 UTC time of the event."""
    kind: str
    """"decision", "declined", "opt_out", "child_profile", "forget", "purge"."""
    digest: str
    """sha256 of the (erasable) canonical payload."""
    decision_id: str | None = None
    permit: bool | None = None
    rule: str | None = None
    policy_hash: str | None = None


def link_hash(prev_hash: str, link: Link) -> str:
    """sha256 over the previous hash and this record's chained fields."""
    body = canonical(
        [
            prev_hash,
            link.seq,
            link.kind,
            link.digest,
            link.at,
            link.decision_id,
            link.permit,
            link.rule,
            link.policy_hash,
        ]
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One audit record as read back from the database."""

    link: Link
    hash: str
    payload: str | None
    """The canonical payload text, or None once erased."""
    erased_by: int | None
    """The seq of the "forget" record that erased the payload."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A head hash and record count written outside the database."""

    count: int
    head: str
    at: datetime


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of verifying the audit log."""

    ok: bool
    count: int
    head: str
    problems: list[str] = field(default_factory=list)


class ChainVerifier:
    """Checks records fed in seq order; ``finish`` gives the report."""

    def __init__(self, *, checkpoint: Checkpoint | None = None) -> None:
        self._checkpoint = checkpoint
        self._expected_seq = 1
        self._prev = GENESIS
        self._count = 0
        self._problems: list[str] = []
        self._forgets: set[int] = set()
        self._erased: list[tuple[int, int | None]] = []
        self._hash_at_checkpoint: str | None = None

    def feed(self, record: StoredRecord) -> None:
        """Check one record against the one before it."""
        link = record.link
        if link.seq != self._expected_seq:
            self._problem(
                f"record seq {link.seq}: expected seq {self._expected_seq} "
                "(a record was deleted, inserted or reordered)"
            )
        want = link_hash(self._prev, link)
        if record.hash != want:
            self._problem(
                f"record seq {link.seq}: stored hash {record.hash!r} does not match the "
                f"chain, expected {want!r} (the record or one before it was edited, "
                "inserted or reordered)"
            )
        if record.payload is None:
            self._erased.append((link.seq, record.erased_by))
        elif digest_of(record.payload) != link.digest:
            self._problem(
                f"record seq {link.seq}: payload digest {digest_of(record.payload)!r} does not "
                f"match the chained digest {link.digest!r} (the payload was edited)"
            )
        if link.kind == "forget":
            self._forgets.add(link.seq)
        self._count += 1
        self._expected_seq = link.seq + 1
        self._prev = record.hash
        if self._checkpoint is not None and self._count == self._checkpoint.count:
            self._hash_at_checkpoint = record.hash

    def finish(self, *, head: tuple[int, str] | None) -> VerifyReport:
        """The report; ``head`` is the database's own (count, hash) head row, if any."""
        for seq, erased_by in self._erased:
            if erased_by is None or erased_by <= seq or erased_by not in self._forgets:
                self._problem(
                    f"record seq {seq}: payload is missing but no later 'forget' record "
                    f"erased it (erased_by={erased_by!r})"
                )
        if head is not None and head != (self._count, self._prev):
            self._problem(
                f"chain head row says {head[0]} records ending {head[1]!r}, "
                f"the log has {self._count} ending {self._prev!r}"
            )
        cp = self._checkpoint
        if cp is not None:
            if self._count < cp.count:
                self._problem(
                    f"checkpoint of {cp.at.isoformat()} expected at least {cp.count} records, "
                    f"the log has {self._count} (the log was truncated)"
                )
            elif self._hash_at_checkpoint != cp.head:
                self._problem(
                    f"checkpoint of {cp.at.isoformat()} expected record {cp.count} to hash "
                    f"{cp.head!r}, the log has {self._hash_at_checkpoint!r} "
                    "(the log was rewritten)"
                )
        problems = self._problems[:MAX_PROBLEMS]
        if len(self._problems) > MAX_PROBLEMS:
            problems.append(f"... and {len(self._problems) - MAX_PROBLEMS} more problems")
        return VerifyReport(
            ok=not self._problems, count=self._count, head=self._prev, problems=problems
        )

    def _problem(self, text: str) -> None:
        self._problems.append(text)
