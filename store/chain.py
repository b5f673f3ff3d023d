"""The audit log's hash chains, pure: canonical bytes, digests, links, keys and verification.

Each record keeps its erasable payload outside the chained bytes: the chain commits to
``digest = sha256(payload)`` and to the non-personal fields, so erasing a payload (right to
erasure) leaves every link intact while any edit, deletion, insertion or reordering breaks one.

The log is partitioned into shards (``shard_of``: a user's records all go to one), each its own
chain from its own genesis, so writers of different shards never wait for one head. With an
audit key (kept outside the database) every record also carries ``mac = HMAC(key, hash)``: a
record appended by someone who can write the database but does not hold the key is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
"""The previous-hash of the first record of shard 0 (the whole log before it was sharded)."""
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


def genesis(shard: int) -> str:
    """The previous-hash of a shard's first record: distinct per shard, so a record cannot be
    moved from one shard's chain to another's."""
    if shard == 0:
        return GENESIS
    return hashlib.sha256(f"askfirst:genesis:{shard}".encode()).hexdigest()


def shard_of(key: str, shards: int) -> int:
    """The shard of a user key: stable, spread evenly, the same in every process."""
    raw = hashlib.sha256(f"askfirst:shard:{key}".encode()).digest()
    return int.from_bytes(raw[:8], "big") % shards


def mac_of(key: bytes, shard: int, hash_: str) -> str:
    """HMAC-SHA256 of a record's shard and hash under the audit key, hex."""
    return hmac.new(key, f"{shard}:{hash_}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One audit record as read back from the database."""

    link: Link
    hash: str
    payload: str | None
    """The canonical payload text, or None once erased."""
    erased_by: int | None
    """The seq of the "forget" record (in the same shard) that erased the payload."""
    shard: int = 0
    mac: str | None = None
    """HMAC of the record under the audit key; None when written without a key."""
    user_id: str | None = None
    """The erasable user link (outside the chain; checked against the payload)."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every shard's head (seq, hash) at one moment, kept outside the database."""

    heads: dict[int, tuple[int, str]]
    at: datetime

    @property
    def count(self) -> int:
        """Records in the log when the checkpoint was taken."""
        return sum(seq for seq, _ in self.heads.values())

    @property
    def head(self) -> str:
        """``heads_digest`` of the heads: one hash naming the whole log's state."""
        return heads_digest(self.heads)


def heads_digest(heads: dict[int, tuple[int, str]]) -> str:
    """One hash naming the state of every shard (what ``audit verify`` prints as the head)."""
    return hashlib.sha256(canonical(sorted(heads.items())).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of verifying the audit log."""

    ok: bool
    count: int
    head: str
    """``heads_digest`` of every shard's head."""
    problems: list[str] = field(default_factory=list)
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    keyed: bool = False
    """Whether every record's MAC was checked against the audit key."""
    checkpoints: int = 0
    """How many checkpoints the log was checked against."""


@dataclass
class _Shard:
    expected: int = 1
    prev: str = GENESIS
    count: int = 0


class ChainVerifier:
    """Checks records fed in (shard, seq) order; ``finish`` gives the report.

    With ``key``, every record must carry a valid MAC. Each ``checkpoint`` must match the chain.
    An erased payload must name a later "forget" record of its shard that lists it, and each
    forget record's count must equal the records it erased.
    """

    def __init__(
        self, *, key: bytes | None = None, checkpoints: tuple[Checkpoint, ...] = ()
    ) -> None:
        self._key = key
        self._checkpoints = checkpoints
        self._want: dict[tuple[int, int], str | None] = {
            (shard, seq): None for cp in checkpoints for shard, (seq, _) in cp.heads.items()
        }
        self._shards: dict[int, _Shard] = {}
        self._count = 0
        self._problems: list[str] = []
        self._forgets: dict[tuple[int, int], tuple[int, frozenset[int] | None]] = {}
        self._erased: list[tuple[int, int, int | None]] = []

    def feed(self, record: StoredRecord) -> None:
        """Check one record against the one before it in its shard."""
        link = record.link
        where = f"shard {record.shard}, record seq {link.seq}"
        state = self._shards.get(record.shard)
        if state is None:
            state = self._shards[record.shard] = _Shard(prev=genesis(record.shard))
        if link.seq != state.expected:
            self._problem(
                f"{where}: expected seq {state.expected} "
                "(a record was deleted, inserted or reordered)"
            )
        want = link_hash(state.prev, link)
        if record.hash != want:
            self._problem(
                f"{where}: stored hash {record.hash!r} does not match the "
                f"chain, expected {want!r} (the record or one before it was edited, "
                "inserted or reordered)"
            )
        if self._key is not None and (
            record.mac is None
            or not hmac.compare_digest(record.mac, mac_of(self._key, record.shard, record.hash))
        ):
            self._problem(
                f"{where}: its MAC does not match the audit key (a record written by someone "
                "without the key: forged, or appended outside askfirst)"
            )
        self._check_payload(record, where)
        state.count += 1
        self._count += 1
        state.expected = link.seq + 1
        state.prev = record.hash
        if (record.shard, link.seq) in self._want:
            self._want[(record.shard, link.seq)] = record.hash

    def _check_payload(self, record: StoredRecord, where: str) -> None:
        link = record.link
        if record.payload is None:
            self._erased.append((record.shard, link.seq, record.erased_by))
            if record.user_id is not None:
                self._problem(f"{where}: erased, but still linked to a user")
            return
        if digest_of(record.payload) != link.digest:
            self._problem(
                f"{where}: payload digest {digest_of(record.payload)!r} does not "
                f"match the chained digest {link.digest!r} (the payload was edited)"
            )
            return
        body = json.loads(record.payload)
        if not isinstance(body, dict):
            self._problem(f"{where}: expected a JSON object payload, got {body!r}")
            return
        if link.kind == "forget":
            listed = body.get("erased")
            seqs = None if listed is None else frozenset(_expand(listed))
            self._forgets[(record.shard, link.seq)] = (int(body.get("erased_records", 0)), seqs)
        elif "user_id" in body and body["user_id"] != record.user_id:
            self._problem(
                f"{where}: its user column says {record.user_id!r}, the chained payload "
                f"{body['user_id']!r} (the user link was edited)"
            )

    def finish(self, *, heads: dict[int, tuple[int, str]] | None) -> VerifyReport:
        """The report; ``heads`` are the database's own head rows (shard -> (seq, hash))."""
        self._check_erasures()
        mine = {shard: (st.count, st.prev) for shard, st in self._shards.items()}
        if heads is not None:
            for shard, (seq, hash_) in sorted(heads.items()):
                have = mine.get(shard, (0, genesis(shard)))
                if (seq, hash_) != have:
                    self._problem(
                        f"shard {shard}: chain head row says {seq} records ending {hash_!r}, "
                        f"the log has {have[0]} ending {have[1]!r}"
                    )
            for shard in sorted(set(mine) - set(heads)):
                self._problem(f"shard {shard}: records but no chain head row")
        for cp in self._checkpoints:
            for shard, (seq, hash_) in sorted(cp.heads.items()):
                have_count = mine.get(shard, (0, ""))[0]
                if seq == 0:
                    continue
                if have_count < seq:
                    self._problem(
                        f"checkpoint of {cp.at.isoformat()} expected at least {seq} records in "
                        f"shard {shard}, the log has {have_count} (the log was truncated)"
                    )
                elif self._want.get((shard, seq)) != hash_:
                    self._problem(
                        f"checkpoint of {cp.at.isoformat()} expected shard {shard} record {seq} "
                        f"to hash {hash_!r}, the log has {self._want.get((shard, seq))!r} "
                        "(the log was rewritten)"
                    )
        problems = self._problems[:MAX_PROBLEMS]
        if len(self._problems) > MAX_PROBLEMS:
            problems.append(f"... and {len(self._problems) - MAX_PROBLEMS} more problems")
        every = {shard: (0, genesis(shard)) for shard in heads or {}} | mine
        return VerifyReport(
            ok=not self._problems,
            count=self._count,
            head=heads_digest(every),
            problems=problems,
            heads=every,
            keyed=self._key is not None,
            checkpoints=len(self._checkpoints),
        )

    def add_problem(self, text: str) -> None:
        """A problem found outside the chain walk (the columns the chain covers)."""
        self._problem(text)

    def _check_erasures(self) -> None:
        erased_by_forget: dict[tuple[int, int], set[int]] = {}
        for shard, seq, erased_by in self._erased:
            where = f"shard {shard}, record seq {seq}"
            forget = None if erased_by is None else self._forgets.get((shard, erased_by))
            if erased_by is None or erased_by <= seq or forget is None:
                self._problem(
                    f"{where}: payload is missing but no later 'forget' record "
                    f"erased it (erased_by={erased_by!r})"
                )
                continue
            listed = forget[1]
            if listed is not None and seq not in listed:
                self._problem(
                    f"{where}: payload is missing and marked erased by the 'forget' record "
                    f"seq {erased_by}, which did not erase it (an unrelated erasure)"
                )
                continue
            erased_by_forget.setdefault((shard, int(erased_by)), set()).add(seq)
        for (shard, seq), (count, listed) in sorted(self._forgets.items()):
            if listed is None:
                continue  # written before forget records listed what they erased
            done = erased_by_forget.get((shard, seq), set())
            if count != len(listed) or done != listed:
                self._problem(
                    f"shard {shard}, 'forget' record seq {seq}: expected {count} erased "
                    f"records, found {len(done)} erased by it of the {len(listed)} it lists"
                )

    def _problem(self, text: str) -> None:
        self._problems.append(text)


def ranges(seqs: list[int]) -> list[list[int]]:
    """Sorted seqs as [first, last] runs (how a forget record lists what it erased)."""
    out: list[list[int]] = []
    for seq in sorted(seqs):
        if out and seq == out[-1][1] + 1:
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def _expand(runs: object) -> list[int]:
    if not isinstance(runs, list):
        return []
    out: list[int] = []
    for run in runs:
        if isinstance(run, list) and len(run) == 2 and all(isinstance(n, int) for n in run):
            out.extend(range(run[0], run[1] + 1))
    return out
