"""The policies decisions were made under: canonical text kept by hash, read back by hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from askfirst.store.errors import BadValueError
from askfirst.store.limits import MAX_PAYLOAD_BYTES, check_size
from askfirst.store.schema import audit_log, policy_texts
from askfirst.store.statements import Sql, run

MIN_PREFIX = 12
"""A hash may be given by a unique prefix of at least this many hex digits."""

KEEP_POLICY = Sql.of(
    """
    INSERT INTO policy_texts (hash, text, first_at, first_decision_id)
    VALUES (:hash, :text, :at, :decision_id)
    ON CONFLICT (hash) DO NOTHING
    """
)
"""A policy already kept stays as it was first written (its first decision)."""


@dataclass(frozen=True, slots=True)
class KeptPolicy:
    """A policy's canonical text as the store keeps it, and when it was first used."""

    hash: str
    text: str
    first_at: str
    first_decision_id: str
    decisions: int
    """How many decision records name this policy."""
    last_at: str | None
    """The time of the last decision record under it."""


def check_policy_text(policy_hash: str, text: str) -> None:
    """Refuse text whose SHA-256 is not ``policy_hash`` (nothing is kept under a wrong key)."""
    check_size(text, "policy text", MAX_PAYLOAD_BYTES)
    actual = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if actual != policy_hash:
        raise BadValueError(
            f"policy text: expected text whose SHA-256 is {policy_hash!r}, got {actual!r}"
        )


def keep_policy(
    conn: Connection, *, policy_hash: str, text: str, at: str, decision_id: str
) -> None:
    """Keep the policy's text unless it is already kept (in the caller's transaction)."""
    check_policy_text(policy_hash, text)
    run(
        conn,
        KEEP_POLICY,
        {"hash": policy_hash, "text": text, "at": at, "decision_id": decision_id},
        what="keeping the policy text",
    )


def find_policy(conn: Connection, wanted: str) -> KeptPolicy | None:
    """The kept policy with hash ``wanted`` (or a unique prefix of at least ``MIN_PREFIX``)."""
    wanted = wanted.strip().lower()
    if len(wanted) < MIN_PREFIX or any(c not in "0123456789abcdef" for c in wanted):
        raise BadValueError(f"policy hash: expected {MIN_PREFIX} to 64 hex digits, got {wanted!r}")
    rows = conn.execute(
        select(policy_texts).where(policy_texts.c.hash.startswith(wanted)).limit(2)
    ).all()
    if len(rows) > 1:
        raise BadValueError(
            f"policy hash: expected a prefix naming one policy, got {wanted!r}, which names "
            f"{rows[0].hash!r}, {rows[1].hash!r} and maybe more"
        )
    if not rows:
        return None
    row = rows[0]
    check_policy_text(str(row.hash), str(row.text))  # an edited row is never shown as kept
    decisions, last = conn.execute(
        select(func.count(), func.max(audit_log.c.at)).where(
            audit_log.c.kind == "decision", audit_log.c.policy_hash == row.hash
        )
    ).one()
    return KeptPolicy(
        hash=str(row.hash),
        text=str(row.text),
        first_at=str(row.first_at),
        first_decision_id=str(row.first_decision_id),
        decisions=int(decisions),
        last_at=None if last is None else str(last),
    )


def kept_hashes(conn: Connection) -> list[str]:
    """Every kept policy's hash, oldest first."""
    return [
        str(h)
        for h in conn.execute(
            select(policy_texts.c.hash).order_by(policy_texts.c.first_at, policy_texts.c.hash)
        ).scalars()
    ]
