"""The store's interfaces: the Store every layer above talks to, and one turn's transaction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from askfirst.core.media import KnownMedia
from askfirst.core.peers import PeerCapture
from askfirst.core.windows import ListeningWindow
from askfirst.policy.config import Policy
from askfirst.policy.values import Decision, UserState, Utterance
from askfirst.store.chain import Checkpoint, VerifyReport
from askfirst.store.evidence import EvidenceFilter
from askfirst.store.policies import KeptPolicy
from askfirst.store.queries import DecisionRecord, LogSummary, TurnFilter, TurnPage
from askfirst.store.report import AuditReport

__all__ = ["Store", "TurnTx"]


class TurnTx(ABC):
    """One turn's transaction: holds the user's lock until it commits or rolls back."""

    @abstractmethod
    def user_state(self) -> UserState:
        """The user's consent and cap counters as of now (inside the lock)."""

    @abstractmethod
    def record(
        self,
        *,
        utterance: Utterance,
        decision: Decision,
        consent: UserState,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Write the utterance, the decision and its audit record; ambient text is refused.

        ``context`` (JSON values) goes into the record as evidence of how the question
        arrived: the capture's household and trigger, or the Alexa intent and its slots."""

    @abstractmethod
    def set_opt_out(self, opted_out: bool) -> None:
        """Opt the user out of (or back into) offers; audited."""

    @abstractmethod
    def keep_policy(self, policy: Policy, *, decision_id: str) -> None:
        """Keep the policy's canonical text by its hash, with the first decision made under it
        (a no-op once the store has it)."""

    @abstractmethod
    def decision_for(self, utterance_id: str) -> str | None:
        """The id of the decision already recorded for this utterance (a retried request)."""

    @abstractmethod
    def take_window(self, *, device_id: str, now: datetime) -> ListeningWindow | None:
        """Take the device's window in this turn's transaction (as ``Store.take_window``): a
        turn that rolls back leaves it open."""

    @abstractmethod
    def open_window(self, window: ListeningWindow) -> None:
        """Open a listening window in this turn's transaction (as ``Store.put_window``)."""

    @abstractmethod
    def mark_answered(self, *, device_id: str, utterance_id: str) -> None:
        """Mark the device's capture answered in this turn's transaction, so it is answered
        exactly when its decision is recorded: its household peers must not answer it too."""


class Store(ABC):
    """Persistent state shared by every server instance, and the tamper-evident audit log."""

    @abstractmethod
    def turn(
        self, *, user_id: str, session_id: str | None, now: datetime
    ) -> AbstractContextManager[TurnTx]:
        """One transaction serialised per user; leaving the block commits, an error rolls back."""

    @abstractmethod
    def record_declined(
        self, *, user_id: str, offer_id: str, decision_id: str | None, now: datetime
    ) -> None:
        """The user declined an offer; it is not offered to them again. Audited."""

    @abstractmethod
    def set_child_profile(
        self, user_id: str, child_profile: bool, *, now: datetime | None = None
    ) -> None:
        """Mark the user as a child profile (no offers). Audited at ``now`` (default: the
        current time)."""

    @abstractmethod
    def set_opt_out(self, *, user_id: str, opted_out: bool, now: datetime) -> None:
        """Opt the user out of (or back into) offers outside a turn. Audited."""

    @abstractmethod
    def put_window(self, window: ListeningWindow) -> None:
        """Open a listening window for its device, replacing any open one."""

    @abstractmethod
    def take_window(self, *, device_id: str, now: datetime) -> ListeningWindow | None:
        """Remove and return the device's window (single use), even when it has expired."""

    @abstractmethod
    def note_capture(
        self, peer: PeerCapture, *, now: datetime, keep_seconds: float = 10.0
    ) -> PeerCapture:
        """Register a capture's keyed prints (never text) for ``keep_seconds`` from ``now`` (the
        server's clock, never the device's: expiry and sweeping ignore ``peer.at``); return it
        with its report order (``seq``) and when it was first registered (``noted_at``:
        ``now``). A second report of the same device and utterance id keeps the first one's
        order and registration time, and the longer of each print (an opening's prints grow
        into the whole capture's; a report that grows them is kept ``keep_seconds`` more)."""

    @abstractmethod
    def move_capture(
        self,
        *,
        device_id: str,
        utterance_id: str,
        to_device: str,
        to_household: str,
        to_utterance_id: str,
    ) -> bool:
        """Give a registered capture the device, household and utterance id its turn turned
        out to have (a Wyoming opening registered under the listener, decided for a satellite
        the conversation turn named), keeping its order, time and prints. False when there is
        no such capture or the new key is taken already."""

    @abstractmethod
    def peers(
        self,
        *,
        around: datetime,
        seconds: float,
        exclude_device: str,
        after_seq: int = 0,
        limit: int | None = None,
    ) -> list[PeerCapture]:
        """Other devices' captures that started within ``seconds`` of ``around``, in report
        order; a page of at most ``limit`` of those reported after ``after_seq``."""

    @abstractmethod
    def add_media(self, media: KnownMedia) -> None:
        """Register a known advert or programme (its fingerprints only)."""

    @abstractmethod
    def known_media(self) -> list[KnownMedia]:
        """Every registered medium, oldest first."""

    @abstractmethod
    def remove_media(self, media_id: str) -> bool:
        """Forget a registered medium; False when there was none with that id."""

    @abstractmethod
    def decision_for(self, utterance_id: str) -> str | None:
        """The id of the decision recorded for this utterance, outside a turn (a read)."""

    @abstractmethod
    def get_decision(self, decision_id: str) -> Decision | None:
        """The logged decision, or None when unknown or erased."""

    @abstractmethod
    def last_decision(self, *, user_id: str, session_id: str | None) -> Decision | None:
        """The user's most recent decision that had an offer candidate (in the session if given)."""

    @abstractmethod
    def recent_turns(
        self, *, where: TurnFilter | None = None, limit: int = 50, before: str | None = None
    ) -> TurnPage:
        """Turns newest first (from their decision records), filtered; ``before`` is a page
        cursor (``TurnPage.next_before``)."""

    @abstractmethod
    def decision_record(self, decision_id: str) -> DecisionRecord | None:
        """A decision with its audit record and chain position; None when unknown."""

    @abstractmethod
    def log_summary(self) -> LogSummary:
        """Counts over the audit log: records, decisions, erased payloads, erasures, purges."""

    @abstractmethod
    def audit_verify(
        self,
        checkpoints: Path | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> VerifyReport:
        """Check every shard's chain (and each record's MAC when the store has the audit key),
        the erasures, the columns kept outside the chain, and every checkpoint of the history
        directory ``checkpoints`` (default: the store's own); a checkpoint whose MAC does not
        match the key is refused.

        ``progress(records_checked)`` is called every ``audit.PROGRESS_EVERY`` records."""

    @abstractmethod
    def audit_checkpoint(self, directory: Path) -> Checkpoint:
        """Add a keyed checkpoint of every shard's head to the history ``directory`` (never
        overwriting one); BadValueError without an audit key."""

    @abstractmethod
    def audit_export(self, out: TextIO) -> int:
        """Write the log as JSON Lines; returns the number of records."""

    @abstractmethod
    def forget_user(
        self, user_id: str, *, reference: str | None = None, vacuum: bool = False
    ) -> int:
        """Erase the user's transcripts and personal data everywhere; the chain still verifies.

        ``reference`` (the erasure request's ticket) is kept in the erasure record. On SQLite
        the deleted bytes are zeroed (``secure_delete``) and the WAL is checkpointed; on
        PostgreSQL they stay in dead row versions until VACUUM, which ``vacuum=True`` runs.
        """

    @abstractmethod
    def purge_expired(self, now: datetime, retention: timedelta | None = None) -> int:
        """Remove transcripts past their retention; returns how many.

        Without ``retention``, by the expiry fixed when each was written (the store's retention
        then); with it, every utterance spoken before ``now - retention``. The chain still
        verifies; raises BadValueError for a retention that is not above zero. Decisions older
        than the store's decision retention leave the ``decisions`` index too (their audit
        records stay).
        """

    @abstractmethod
    def evidence_export(self, out: TextIO, where: EvidenceFilter) -> int:
        """Write the records ``where`` selects as JSON Lines, each with its recorded and
        captured times, user, device, household and (prompted decisions) the question as
        asked; returns how many."""

    @abstractmethod
    def audit_report(self, where: EvidenceFilter) -> AuditReport:
        """Per-day and total counts of the records ``where`` selects, with the privacy
        statement's figures."""

    @abstractmethod
    def decision_evidence(self, decision_id: str) -> dict[str, Any] | None:
        """The evidence line of one decision (as ``evidence_export`` writes it), or None."""

    @abstractmethod
    def subject_access(self, user_id: str, *, now: datetime) -> dict[str, Any]:
        """Everything held about ``user_id``: consent state, caps, declines, retained
        transcripts, decisions and consent records (a subject access request)."""

    @abstractmethod
    def policy_text(self, wanted: str) -> KeptPolicy | None:
        """The kept policy whose hash is ``wanted`` (or a unique prefix of 12+ hex digits)."""

    @abstractmethod
    def policy_hashes(self) -> list[str]:
        """The hashes of every kept policy, first used first."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""

    @abstractmethod
    def ping(self) -> bool:
        """Whether the database answers."""

    def writable(self) -> bool:
        """Whether a write commits now (not a full disk, a read-only file or a standby).

        Stores that cannot tell answer as :meth:`ping` does."""
        return self.ping()
