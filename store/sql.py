"""The SQL store (SQLAlchemy Core): one implementation for SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.core.windows import ListeningWindow
from askfirst.policy.values import Decision, UserState
from askfirst.store import audit, queries
from askfirst.store.audit import Appended
from askfirst.store.chain import Checkpoint, VerifyReport, ranges, shard_of
from askfirst.store.checkpoint import latest_count, read_checkpoints, write_checkpoint
from askfirst.store.codec import decision_from_json
from askfirst.store.engine import READ_ONLY, db_errors, lock_user, make_engine
from askfirst.store.errors import BadValueError, ReadOnlyStore, StoreError, StoreUnavailable
from askfirst.store.evidence import (
    EvidenceFilter,
    ambient_text_count,
    decision_line,
    evidence_lines,
)
from askfirst.store.group_commit import GroupCommit, postgresql_group_commit, sqlite_group_commit
from askfirst.store.interface import Store
from askfirst.store.limits import MAX_ID_BYTES, MAX_KEY_BYTES, check_size
from askfirst.store.policies import KeptPolicy, find_policy, kept_hashes
from askfirst.store.queries import DecisionRecord, LogSummary, TurnFilter, TurnPage
from askfirst.store.report import AuditReport, build_report
from askfirst.store.schema import (
    DAY,
    DEFAULT_SHARDS,
    audit_log,
    check_schema,
    db_time,
    decisions,
    declined,
    from_db_time,
    lock_migrations,
    migrate,
    peers,
    users,
    utterances,
)
from askfirst.store.schema import (
    media as media_table,
)
from askfirst.store.statements import Sql, run
from askfirst.store.subject import subject_access
from askfirst.store.turn import SqlTurn, decision_for, read_user_state, write_consent
from askfirst.store.windows import check_window, put_window, take_window

logger = logging.getLogger(__name__)

DEFAULT_DECISION_RETENTION = timedelta(days=90)
"""How long a decision stays in the ``decisions`` index (caps, duplicate checks, look-ups),
rounded up to the end of its UTC day; its audit record is kept for good."""
MIN_DECISION_RETENTION = timedelta(days=2)
"""The daily cap counts today's decisions: the index keeps at least two days."""


class SqlStore(Store):
    """Store on SQLite (WAL, BEGIN IMMEDIATE) or PostgreSQL (advisory and row locks)."""

    def __init__(
        self,
        url: str,
        *,
        checkpoint_dir: Path | None,
        checkpoint_every: int,
        retention: timedelta,
        lock_timeout: float,
        lazy: bool = False,
        decision_retention: timedelta = DEFAULT_DECISION_RETENTION,
        audit_key: bytes | None = None,
        shards: int = DEFAULT_SHARDS,
        read_only: bool = False,
    ) -> None:
        self._read_only = read_only
        self._opened = False
        if isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int):
            raise BadValueError(
                f"checkpoint_every: expected an integer >= 1, got {checkpoint_every!r}"
            )
        if checkpoint_every < 1:
            raise BadValueError(
                f"checkpoint_every: expected an integer >= 1, got {checkpoint_every!r}"
            )
        if not isinstance(retention, timedelta) or retention <= timedelta(0):
            raise BadValueError(f"retention: expected a positive timedelta, got {retention!r}")
        if (
            not isinstance(decision_retention, timedelta)
            or decision_retention < MIN_DECISION_RETENTION
        ):
            raise BadValueError(
                f"decision_retention: expected a timedelta of at least {MIN_DECISION_RETENTION} "
                f"(the caps count today's decisions), got {decision_retention!r}"
            )
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 1024:
            raise BadValueError(f"shards: expected an integer from 1 to 1024, got {shards!r}")
        if audit_key is not None and (not isinstance(audit_key, bytes) or len(audit_key) < 16):
            raise BadValueError(
                "audit_key: expected at least 16 bytes, got "
                f"{len(audit_key) if isinstance(audit_key, bytes) else type(audit_key).__name__}"
            )
        if checkpoint_dir is not None and audit_key is None:
            raise BadValueError(
                f"checkpoint_dir: checkpoints are keyed, expected an audit key with "
                f"{str(checkpoint_dir)!r}, got none"
            )
        self._decision_retention = decision_retention
        self._key = audit_key
        self._shards_wanted = shards
        self._shards = shards
        self._checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self._checkpoint_every = checkpoint_every
        self._retention = retention
        self._engine = make_engine(url, lock_timeout=lock_timeout)
        self._writers: list[GroupCommit] | None = None
        self._lock_timeout = lock_timeout
        self.dialect = self._engine.dialect.name
        self._open_lock = threading.Lock()
        self._known_policies: frozenset[str] = frozenset()
        """Policies this process knows the store keeps (so a turn skips writing them)."""
        self._checkpointed: dict[Path, int] = {}
        """Directory -> the newest checkpoint's record count this process knows of: read from
        the directory once, so a due checkpoint never lists a history that grows for good."""
        try:
            self._open()
        except StoreUnavailable as exc:
            if not lazy:
                self._engine.dispose()
                raise
            logger.warning("store: %s; will connect on first use", exc)
        except StoreError:
            self._engine.dispose()
            raise

    def _open(self) -> None:
        """Connect, migrate the schema and start the group commit; once per store."""
        with (
            db_errors(f"opening the store ({self.dialect})"),
            self._engine.connect() as conn,
            conn.begin(),
        ):
            if self._read_only:
                check_schema(conn)
            else:
                lock_migrations(conn)
                migrate(conn, shards=self._shards_wanted)
            shards = len(audit.heads(conn))
        self._shards = shards
        self._opened = True
        if self._read_only:
            logger.info("store: opened %s database %s read-only", self.dialect, self._engine.url)
            return
        if self.dialect == "sqlite":  # one writer at a time anyway: one write path for all
            self._writers = [sqlite_group_commit(self._engine.url.database or "")] * shards
        else:
            self._writers = [postgresql_group_commit(shard) for shard in range(shards)]
        logger.info("store: opened %s database %s", self.dialect, self._engine.url)

    def _ensure_open(self) -> list[GroupCommit]:
        """The group commits (one per shard) of an open store; opens a lazily created one (or
        fails closed)."""
        writers = self._writers
        if writers is not None:
            return writers
        if self._read_only:
            self._ensure_connected()
            raise ReadOnlyStore("this store was opened read-only; the command writes nothing")
        with self._open_lock:
            if self._writers is None:
                self._open()
            assert self._writers is not None
            return self._writers

    def shard_of(self, key: str) -> int:
        """The audit shard (and write path) of a user or device key."""
        self._ensure_open()
        return shard_of(key, self._shards)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def _write(self, shard: int) -> Iterator[Connection]:
        """A write transaction; leaving the block commits (durably), an error rolls back.

        Writes go through the shard's group commit (``store.group_commit``).
        """
        writer = self._ensure_open()[shard]
        with (
            writer.write(self._engine, timeout=self._lock_timeout) as conn,
            db_errors("writing"),
        ):
            yield conn

    def _ensure_connected(self) -> None:
        """Open a lazily created store for reading (a read-only one is never migrated)."""
        if self._opened:
            return
        with self._open_lock:
            if not self._opened:
                self._open()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        self._ensure_connected()
        with (
            db_errors("reading"),
            self._engine.connect() as conn,
            conn.execution_options(**{READ_ONLY: True}).begin(),
        ):
            yield conn

    @contextmanager
    def turn(self, *, user_id: str, session_id: str | None, now: datetime) -> Iterator[SqlTurn]:
        _require_text(user_id, "user_id")
        if session_id is not None:
            _require_text(session_id, "session_id")
        db_time(now, field="now")
        tx: SqlTurn | None = None
        shard = self.shard_of(user_id)
        try:
            with self._write(shard) as conn:
                with db_errors("locking the user"):
                    lock_user(conn, user_id)
                tx = SqlTurn(
                    conn,
                    user_id=user_id,
                    session_id=session_id,
                    now=now,
                    retention=self._retention,
                    shard=shard,
                    key=self._key,
                    known_policies=self._known_policies,
                )
                yield tx
                tx.open = False
        finally:
            if tx is not None:
                tx.open = False
        if tx.kept_policies:
            self._known_policies = self._known_policies | set(tx.kept_policies)
        self._after_commit(tx.appended)

    def _after_commit(self, appended: list[Appended]) -> None:
        """Add a checkpoint when a committed record's seq is a multiple of checkpoint_every."""
        due = [a for a in appended if a.seq % self._checkpoint_every == 0]
        if self._checkpoint_dir is None or self._key is None or not due:
            return
        try:
            self.audit_checkpoint(self._checkpoint_dir)
        except StoreError:
            # The records are committed; a missed checkpoint only weakens truncation detection.
            logger.exception("store: could not write an audit checkpoint after seq %d", due[-1].seq)

    # -- consent ---------------------------------------------------------------------------

    def record_declined(
        self, *, user_id: str, offer_id: str, decision_id: str | None, now: datetime
    ) -> None:
        _require_text(user_id, "user_id")
        _require_text(offer_id, "offer_id")
        check_size(decision_id, "decision_id")
        at = db_time(now, field="now")
        shard = self.shard_of(user_id)
        with self._write(shard) as conn:
            lock_user(conn, user_id)
            conn.execute(
                delete(declined).where(
                    declined.c.user_id == user_id, declined.c.offer_id == offer_id
                )
            )
            conn.execute(
                insert(declined).values(
                    user_id=user_id, offer_id=offer_id, decision_id=decision_id, at=at
                )
            )
            done = audit.append(
                conn,
                audit.entry(
                    kind="declined",
                    at=at,
                    payload={"user_id": user_id, "offer_id": offer_id, "decision_id": decision_id},
                    user_id=user_id,
                    decision_id=decision_id,
                ),
                shard=shard,
                key=self._key,
            )
        self._after_commit([done])

    def set_child_profile(
        self, user_id: str, child_profile: bool, *, now: datetime | None = None
    ) -> None:
        _require_text(user_id, "user_id")
        at = db_time(datetime.now(UTC) if now is None else now, field="now")
        shard = self.shard_of(user_id)
        with self._write(shard) as conn:
            lock_user(conn, user_id)
            done = write_consent(
                conn,
                user_id=user_id,
                at=at,
                shard=shard,
                key=self._key,
                child_profile=child_profile,
            )
        self._after_commit([done])

    def set_opt_out(self, *, user_id: str, opted_out: bool, now: datetime) -> None:
        _require_text(user_id, "user_id")
        at = db_time(now, field="now")
        shard = self.shard_of(user_id)
        with self._write(shard) as conn:
            lock_user(conn, user_id)
            done = write_consent(
                conn, user_id=user_id, at=at, shard=shard, key=self._key, opted_out=bool(opted_out)
            )
        self._after_commit([done])

    # -- listening windows and broadcast registry -----------------------------------------

    def put_window(self, window: ListeningWindow) -> None:
        if not isinstance(window, ListeningWindow):
            raise BadValueError(f"expected a ListeningWindow, got {type(window).__name__}")
        check_window(window)
        with self._write(self.shard_of(window.device_id)) as conn:
            put_window(conn, window)

    def take_window(self, *, device_id: str, now: datetime) -> ListeningWindow | None:
        _require_text(device_id, "device_id")
        db_time(now, field="now")
        with self._write(self.shard_of(device_id)) as conn:
            return take_window(conn, device_id=device_id, now=now)

    def note_capture(
        self, peer: PeerCapture, *, now: datetime, keep_seconds: float = 10.0
    ) -> PeerCapture:
        if not isinstance(peer, PeerCapture):
            raise BadValueError(f"expected a PeerCapture, got {type(peer).__name__}")
        _require_seconds(keep_seconds, "keep_seconds")
        check_size(peer.device_id, "peer.device_id", MAX_KEY_BYTES)
        check_size(peer.household, "peer.household", MAX_KEY_BYTES)
        check_size(peer.utterance_id, "peer.utterance_id", MAX_KEY_BYTES)
        at = db_time(peer.at, field="peer.at")
        noted = db_time(now, field="now")
        # Expiry is reckoned by the server's clock: a device clock ahead (within the accepted
        # skew) would otherwise sweep every other device's registrations of the moment, and
        # one behind would expire its own capture as soon as it was noted.
        expires = db_time(now + timedelta(seconds=keep_seconds), field="now")
        if peer.utterance_id:
            # A resend whose prints add nothing (a deferred turn sent again) writes nothing.
            with self._read() as conn:
                kept = self._noted(conn, peer)
            if kept is not None and not _grows(kept, peer):
                return kept
        with self._write(self.shard_of(peer.device_id)) as conn:
            run(conn, SWEEP_PEERS, {"at": noted}, what="sweeping expired captures")
            if peer.utterance_id:
                earlier = conn.execute(
                    select(
                        peers.c.id,
                        peers.c.at,
                        peers.c.answered,
                        peers.c.noted_at,
                        peers.c.text_print,
                        peers.c.audio_print,
                    ).where(
                        peers.c.device_id == peer.device_id,
                        peers.c.utterance_id == peer.utterance_id,
                    )
                ).first()
                if earlier is not None and earlier.at != at:
                    # The device reused the id for another capture (another start): that one
                    # is new, and must neither inherit the old one's registration time (and so
                    # skip its wait) nor be compared with the old one's prints.
                    conn.execute(delete(peers).where(peers.c.id == earlier.id))
                    earlier = None
                if earlier is not None:
                    # A later report of the same capture (the whole of what an opening began,
                    # or a resend) keeps its place and its first registration; the longer
                    # prints replace the shorter, so peers compare against the most heard.
                    text_print = _longer(bytes(earlier.text_print), peer.text_print)
                    audio_print = _longer(bytes(earlier.audio_print), peer.audio_print)
                    conn.execute(
                        update(peers)
                        .where(peers.c.id == earlier.id)
                        .values(text_print=text_print, audio_print=audio_print, expires_at=expires)
                    )
                    return replace(
                        peer,
                        text_print=text_print,
                        audio_print=audio_print,
                        seq=int(earlier.id),
                        answered=bool(earlier.answered),
                        noted_at=from_db_time(earlier.noted_at),
                    )
            row = conn.execute(
                insert(peers)
                .values(
                    device_id=peer.device_id,
                    household=peer.household,
                    utterance_id=peer.utterance_id,
                    at=at,
                    text_print=peer.text_print,
                    audio_print=peer.audio_print,
                    level=peer.level,
                    answered=False,
                    expires_at=expires,
                    noted_at=noted,
                )
                .returning(peers.c.id)
            ).scalar_one()
        return replace(peer, seq=int(row), answered=False, noted_at=from_db_time(noted))

    def move_capture(
        self,
        *,
        device_id: str,
        utterance_id: str,
        to_device: str,
        to_household: str,
        to_utterance_id: str,
    ) -> bool:
        for value, name in (
            (device_id, "device_id"),
            (utterance_id, "utterance_id"),
            (to_device, "to_device"),
            (to_household, "to_household"),
            (to_utterance_id, "to_utterance_id"),
        ):
            _require_text(value, name)
            check_size(value, name, MAX_KEY_BYTES)
        with self._write(self.shard_of(to_device)) as conn:
            taken = conn.execute(
                select(peers.c.id).where(
                    peers.c.device_id == to_device, peers.c.utterance_id == to_utterance_id
                )
            ).first()
            if taken is not None:
                return False
            moved = conn.execute(
                update(peers)
                .where(peers.c.device_id == device_id, peers.c.utterance_id == utterance_id)
                .values(device_id=to_device, household=to_household, utterance_id=to_utterance_id)
            ).rowcount
        return bool(moved)

    @staticmethod
    def _noted(conn: Connection, peer: PeerCapture) -> PeerCapture | None:
        """``peer`` as already registered (by device and utterance id), or None."""
        row = conn.execute(
            select(peers).where(
                peers.c.device_id == peer.device_id,
                peers.c.utterance_id == peer.utterance_id,
            )
        ).first()
        if row is None or row.at != db_time(peer.at, field="peer.at"):
            return None
        return replace(
            peer,
            text_print=bytes(row.text_print),
            audio_print=bytes(row.audio_print),
            seq=int(row.id),
            answered=bool(row.answered),
            noted_at=from_db_time(row.noted_at),
        )

    def peers(
        self,
        *,
        around: datetime,
        seconds: float,
        exclude_device: str,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[PeerCapture]:
        _require_seconds(seconds, "seconds")
        check_size(exclude_device, "exclude_device", MAX_KEY_BYTES)
        if limit is not None and limit < 1:
            raise BadValueError(f"limit: expected a positive number of captures, got {limit!r}")
        span = timedelta(seconds=seconds)
        query = (
            select(peers)
            .where(
                peers.c.device_id != exclude_device,
                peers.c.at >= db_time(around - span, field="around"),
                peers.c.at <= db_time(around + span, field="around"),
                peers.c.id > after_seq,
            )
            .order_by(peers.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            PeerCapture(
                device_id=str(r.device_id),
                household=str(r.household),
                utterance_id=str(r.utterance_id),
                at=from_db_time(r.at),
                text_print=bytes(r.text_print),
                audio_print=bytes(r.audio_print),
                level=None if r.level is None else float(r.level),
                seq=int(r.id),
                answered=bool(r.answered),
                noted_at=from_db_time(r.noted_at),
            )
            for r in rows
        ]

    # -- known media -----------------------------------------------------------------------

    def add_media(self, media: KnownMedia) -> None:
        if not isinstance(media, KnownMedia):
            raise BadValueError(f"expected a KnownMedia, got {type(media).__name__}")
        with self._write(0) as conn:
            if conn.execute(select(media_table.c.id).where(media_table.c.id == media.id)).first():
                raise BadValueError(f"id: expected a new media id, got {media.id!r} (taken)")
            conn.execute(
                insert(media_table).values(
                    id=media.id,
                    name=media.name,
                    added_at=db_time(media.added_at, field="added_at"),
                    text_print=media.text_print,
                    audio_print=media.audio_print,
                )
            )

    def known_media(self) -> list[KnownMedia]:
        with self._read() as conn:
            rows = conn.execute(
                select(media_table).order_by(media_table.c.added_at, media_table.c.id)
            ).all()
        return [
            KnownMedia(
                id=str(r.id),
                name=str(r.name),
                added_at=from_db_time(r.added_at),
                text_print=bytes(r.text_print),
                audio_print=bytes(r.audio_print),
            )
            for r in rows
        ]

    def remove_media(self, media_id: str) -> bool:
        _require_text(media_id, "media_id")
        with self._write(0) as conn:
            gone = conn.execute(delete(media_table).where(media_table.c.id == media_id)).rowcount
        return bool(gone)

    # -- decisions -------------------------------------------------------------------------

    def decision_for(self, utterance_id: str) -> str | None:
        _require_text(utterance_id, "utterance_id")
        with self._read() as conn:
            return decision_for(conn, utterance_id)

    def get_decision(self, decision_id: str) -> Decision | None:
        _require_text(decision_id, "decision_id")
        with self._read() as conn:
            payload = audit.decision_payload(conn, decision_id=decision_id)
        return None if payload is None else decision_from_json(payload.get("decision"))

    def last_decision(self, *, user_id: str, session_id: str | None) -> Decision | None:
        _require_text(user_id, "user_id")
        query = select(decisions.c.shard, decisions.c.seq).where(
            decisions.c.user_id == user_id, decisions.c.has_offer.is_(True)
        )
        if session_id is not None:
            query = query.where(decisions.c.session_id == session_id)
        latest = query.order_by(decisions.c.at.desc(), decisions.c.seq.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(latest).first()
            payload = None if row is None else audit.decision_payload(conn, at=(row.shard, row.seq))
        return None if payload is None else decision_from_json(payload.get("decision"))

    def user_state(self, *, user_id: str, session_id: str | None, now: datetime) -> UserState:
        """The user's state outside a turn (for inspection; decisions use ``turn``)."""
        _require_text(user_id, "user_id")
        with self._read() as conn:
            return read_user_state(conn, user_id=user_id, session_id=session_id, now=now)

    # -- reading the log -------------------------------------------------------------------

    def recent_turns(
        self, *, where: TurnFilter | None = None, limit: int = 50, before: str | None = None
    ) -> TurnPage:
        with self._read() as conn:
            return queries.recent_turns(
                conn, where=where or TurnFilter(), limit=limit, before=before
            )

    def decision_record(self, decision_id: str) -> DecisionRecord | None:
        _require_text(decision_id, "decision_id")
        with self._read() as conn:
            return queries.decision_record(conn, decision_id)

    def log_summary(self) -> LogSummary:
        with self._read() as conn:
            return queries.log_summary(conn)

    # -- audit -----------------------------------------------------------------------------

    def audit_verify(
        self,
        checkpoints: Path | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> VerifyReport:
        directory = checkpoints if checkpoints is not None else self._checkpoint_dir
        found: list[Checkpoint] = []
        refused: list[str] = []
        if directory is not None:
            if self._key is None:
                refused.append(
                    f"checkpoints in {str(directory)!r} not checked: expected the audit key "
                    "that vouches for them, got none"
                )
            elif checkpoints is not None or Path(directory).exists():
                found, refused = read_checkpoints(Path(directory), key=self._key)
        with self._read() as conn:
            report = audit.verify(conn, key=self._key, checkpoints=tuple(found), progress=progress)
        if not refused:
            return report
        return dataclasses.replace(report, ok=False, problems=[*refused, *report.problems])

    def audit_checkpoint(self, directory: Path) -> Checkpoint:
        if self._key is None:
            raise BadValueError(
                f"audit checkpoint: checkpoints are keyed, expected an audit key, got none "
                f"(writing into {str(directory)!r})"
            )
        with self._read() as conn:
            heads = audit.heads(conn)
        checkpoint = Checkpoint(heads=heads, at=datetime.now(UTC))
        where = Path(directory)
        newest = self._checkpointed.get(where)
        if newest is None:
            newest = latest_count(where)
        if checkpoint.count > newest or checkpoint.count == 0:
            write_checkpoint(where, checkpoint, key=self._key)
            newest = max(newest, checkpoint.count)
        self._checkpointed[where] = newest
        return checkpoint

    def audit_export(self, out: TextIO) -> int:
        with self._read() as conn:
            return audit.export(conn, out)

    def forget_user(
        self, user_id: str, *, reference: str | None = None, vacuum: bool = False
    ) -> int:
        _require_text(user_id, "user_id")
        if reference is not None:
            _require_text(reference, "reference")
        now = db_time(datetime.now(UTC))
        shard = self.shard_of(user_id)
        done: list[Appended] = []
        with self._write(shard) as conn:
            lock_user(conn, user_id)
            removed = 0
            for table in (utterances, decisions, declined, users):  # ERASED_TABLES less the log
                removed += int(
                    conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount
                )
            held = audit.personal(conn, user_id)
            if removed == 0 and not held:
                return 0
            erased = 0
            # One erasure record per shard holding the user's records (the user's own shard,
            # and shard 0 for records written before the log was sharded), each listing what
            # it erased, so an erased payload can only point to the erasure that erased it.
            for where in sorted({shard, *held}):
                seqs = held.get(where, [])
                appended = audit.append(
                    conn,
                    audit.entry(
                        kind="forget",
                        at=now,
                        payload={
                            "deleted_rows": removed if where == shard else 0,
                            "erased_records": len(seqs),
                            "erased": ranges(seqs),
                            "reference": reference,
                        },
                    ),
                    shard=where,
                    key=self._key,
                )
                erased += audit.erase(conn, shard=where, seqs=seqs, by_seq=appended.seq)
                done.append(appended)
        self._after_commit(done)
        logger.info("store: forgot a user: %d rows deleted, %d records erased", removed, erased)
        self._scrub(vacuum=vacuum)
        return removed + erased

    def _scrub(self, *, vacuum: bool) -> None:
        """Push erased bytes out of the database files: SQLite's WAL is checkpointed and
        truncated (its pages were zeroed by ``secure_delete``); PostgreSQL's dead row versions
        are vacuumed when asked (VACUUM cannot run inside the write path's transactions)."""
        with db_errors("scrubbing erased data"), self._engine.connect() as conn:
            dbapi: Any = conn.connection.dbapi_connection
            if self.dialect == "sqlite":
                cursor = dbapi.cursor()
                try:
                    busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                finally:
                    cursor.close()
                if busy:
                    logger.warning(
                        "store: the WAL could not be truncated after an erasure (a reader held "
                        "it); it is overwritten at the next checkpoint"
                    )
            elif vacuum:
                dbapi.autocommit = True
                try:
                    for table in ERASED_TABLES:
                        dbapi.execute(f"VACUUM {table.name}")
                finally:
                    dbapi.autocommit = False

    def purge_expired(self, now: datetime, retention: timedelta | None = None) -> int:
        at = db_time(now, field="now")
        if retention is None:
            expired = utterances.c.expires_at <= at
        else:
            expired = utterances.c.at < _cutoff(now, retention)
        # Whole UTC days, by the day index: a decision leaves at most a day after its retention
        # (an exact time let SQLite's planner skip-scan the user index for it instead).
        day = _cutoff(now, self._decision_retention)[:10]
        decided_before = f"{day}T00:00:00.000000+00:00"
        with self._write(0) as conn:
            purged = int(conn.execute(delete(utterances).where(expired)).rowcount)
            conn.execute(delete(peers).where(peers.c.expires_at <= at))
            # The decisions index only serves caps and look-ups; the audit records stay.
            dropped = int(conn.execute(delete(decisions).where(day > DAY)).rowcount)
            if purged == 0 and dropped == 0:
                return 0
            payload: dict[str, object] = {"utterances": purged}
            if dropped:
                payload.update(decisions=dropped, decisions_before=decided_before)
            done = audit.append(
                conn, audit.entry(kind="purge", at=at, payload=payload), shard=0, key=self._key
            )
        self._after_commit([done])
        if dropped:
            logger.info("store: purged %d decision index rows before %s", dropped, decided_before)
        return purged

    def evidence_export(self, out: TextIO, where: EvidenceFilter) -> int:
        count = 0
        with self._read() as conn:
            for line in evidence_lines(conn, where):
                out.write(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
                count += 1
        return count

    def audit_report(self, where: EvidenceFilter) -> AuditReport:
        with self._read() as conn:
            return build_report(
                evidence_lines(conn, where),
                since=None if where.since is None else db_time(where.since),
                until=None if where.until is None else db_time(where.until),
                ambient_rows_with_text=ambient_text_count(conn, where),
            )

    def decision_evidence(self, decision_id: str) -> dict[str, Any] | None:
        _require_text(decision_id, "decision_id")
        with self._read() as conn:
            return decision_line(conn, decision_id)

    def subject_access(self, user_id: str, *, now: datetime) -> dict[str, Any]:
        _require_text(user_id, "user_id")
        with self._read() as conn:
            return subject_access(conn, user_id=user_id, now=now)

    def policy_text(self, wanted: str) -> KeptPolicy | None:
        with self._read() as conn:
            return find_policy(conn, wanted)

    def policy_hashes(self) -> list[str]:
        with self._read() as conn:
            return kept_hashes(conn)

    def record_count(self) -> int:
        """How many audit records there are."""
        with self._read() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._engine.dispose()

    def ping(self) -> bool:
        try:
            self._ensure_open()
        except StoreUnavailable as e:
            logger.warning("store: ping failed: %s", e)
            return False
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as e:
            logger.warning("store: ping failed: %s", e)
            return False
        return True

    def writable(self) -> bool:
        """Commit a real (net-zero) write: a row into ``peers`` and out again, durably."""
        probe = "\x1freadyz"  # not a device id any token maps to: no turn ever reads it
        try:
            with self._write(0) as conn:
                at = db_time(datetime.now(UTC), field="probe.at")
                conn.execute(
                    insert(peers).values(
                        device_id=probe,
                        household=probe,
                        utterance_id=probe,
                        at=at,
                        text_print=b"",
                        audio_print=b"",
                        answered=False,
                        expires_at=at,
                        noted_at=at,
                    )
                )
                conn.execute(delete(peers).where(peers.c.device_id == probe))
        except StoreError as e:
            logger.warning("store: write probe failed: %s", e)
            return False
        return True


SWEEP_PEERS = Sql.of(
    "DELETE FROM capture_prints WHERE expires_at <= :at",
    postgresql="""
    DELETE FROM capture_prints WHERE id IN (
      SELECT id FROM capture_prints WHERE expires_at <= :at FOR UPDATE SKIP LOCKED)
    """,
)
"""Expired captures go with each new one; on PostgreSQL rows another writer is sweeping are
skipped, so writers of different shards never wait for each other here."""

ERASED_TABLES = (utterances, decisions, declined, users, audit_log)
"""The tables an erasure deletes or blanks rows in (and ``vacuum`` cleans)."""


def _cutoff(now: datetime, retention: timedelta) -> str:
    """The stored form of ``now - retention``: utterances before it are past retention."""
    if not isinstance(retention, timedelta) or retention <= timedelta(0):
        raise BadValueError(f"retention: expected a timedelta above 0, got {retention!r}")
    try:
        return db_time(now - retention, field="now")
    except OverflowError as exc:
        raise BadValueError(
            f"retention: expected a period that ends after year 1, got {retention!r} before {now!r}"
        ) from exc


KEYS = frozenset({"user_id", "device_id", "utterance_id"})
"""Ids the edges namespace or take from Alexa as they come: checked against ``MAX_KEY_BYTES``."""


def _require_text(value: object, name: str) -> None:
    """A non-empty id within ``MAX_KEY_BYTES`` (a key) or ``MAX_ID_BYTES`` (FieldTooLarge
    beyond it)."""
    if not isinstance(value, str) or not value:
        raise BadValueError(f"{name}: expected a non-empty string, got {value!r}")
    check_size(value, name, MAX_KEY_BYTES if name in KEYS else MAX_ID_BYTES)


def _require_seconds(value: object, name: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise BadValueError(f"{name}: expected a finite number of seconds above 0, got {value!r}")


def _longer(kept: bytes, new: bytes) -> bytes:
    """The longer of two prints of one capture (a whole capture's over its opening's)."""
    return new if len(new) > len(kept) else kept


def _grows(kept: PeerCapture, new: PeerCapture) -> bool:
    """Whether ``new`` has a longer print than the registered ``kept``."""
    return len(new.text_print) > len(kept.text_print) or len(new.audio_print) > len(
        kept.audio_print
    )
