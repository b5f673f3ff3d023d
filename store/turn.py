"""One turn's transaction on the SQL store: user state, recording a decision, consent changes."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from askfirst.core.tags import UtteranceTag
from askfirst.core.windows import ListeningWindow
from askfirst.policy.config import Policy
from askfirst.policy.values import Decision, UserState, Utterance
from askfirst.store import audit
from askfirst.store.audit import Appended
from askfirst.store.captures import mark_answered
from askfirst.store.codec import decision_to_json, user_state_to_json, utterance_to_json
from askfirst.store.columns import text_digest
from askfirst.store.engine import db_errors
from askfirst.store.errors import (
    AmbientPermitRefused,
    AmbientTextRefused,
    BadValueError,
    StoreError,
)
from askfirst.store.interface import TurnTx
from askfirst.store.limits import (
    MAX_KEY_BYTES,
    MAX_LOCALE_BYTES,
    MAX_SHORT_BYTES,
    MAX_TEXT_BYTES,
    check_items,
    check_size,
)
from askfirst.store.policies import keep_policy
from askfirst.store.schema import db_time, decisions
from askfirst.store.statements import Sql, run
from askfirst.store.windows import put_window, take_window

logger = logging.getLogger(__name__)


class SqlTurn(TurnTx):
    """A TurnTx bound to an open, user-locked connection; unusable once the block has left."""

    def __init__(
        self,
        conn: Connection,
        *,
        user_id: str,
        session_id: str | None,
        now: datetime,
        retention: timedelta,
        shard: int,
        key: bytes | None,
        known_policies: frozenset[str] = frozenset(),
    ) -> None:
        self._conn = conn
        self._shard = shard
        self._key = key
        self._known_policies = known_policies
        self.kept_policies: list[str] = []
        """Hashes of the policies this turn kept (the store learns them once it commits)."""
        self._user_id = user_id
        self._session_id = session_id
        self._now = now
        self._at = db_time(now, field="now")
        self._expires_at = db_time(now + retention, field="now")
        self.appended: list[Appended] = []
        self.open = True

    def user_state(self) -> UserState:
        self._check_open()
        with db_errors("reading user state"):
            return read_user_state(
                self._conn, user_id=self._user_id, session_id=self._session_id, now=self._now
            )

    def record(
        self,
        *,
        utterance: Utterance,
        decision: Decision,
        consent: UserState,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        self._check_open()
        check_recordable(utterance, decision)
        u = utterance
        kept = u.text if u.tag is UtteranceTag.PROMPTED else None
        salt = None if kept is None else secrets.token_hex(16)
        said = {
            **utterance_to_json(u),
            "text": None,
            "text_digest": None if kept is None or salt is None else text_digest(salt, kept),
        }
        payload: dict[str, Any] = {
            "user_id": self._user_id,
            "session_id": self._session_id,
            "utterance": said,
            "decision": decision_to_json(decision),
            "consent": user_state_to_json(consent),
        }
        if context:
            payload["context"] = dict(context)
        record = audit.entry(  # serialised, digested and size-checked before any write or lock
            kind="decision",
            at=self._at,
            payload=payload,
            user_id=self._user_id,
            decision_id=decision.id,
            permit=decision.permit,
            rule=decision.rule,
            policy_hash=decision.policy_hash,
        )
        row = {
            "id": u.id,
            "user_id": self._user_id,
            "session_id": self._session_id,
            "device_id": u.device_id,
            "at": db_time(u.at, field="utterance.at"),
            "locale": u.locale,
            "tag": u.tag.value,
            "tag_reasons": json.dumps(list(u.tag_reasons)),
            "text": kept,
            "expires_at": self._expires_at,
            "text_salt": salt,
            "record_shard": self._shard,
        }
        index = audit.DecisionIndex(
            id=decision.id,
            user_id=self._user_id,
            session_id=self._session_id,
            utterance_id=decision.utterance_id,
            at=self._at,
            permit=decision.permit,
            has_offer=decision.offer is not None,
        )
        what = f"recording decision {decision.id!r}"
        with db_errors(what):
            done = audit.append(self._conn, record, shard=self._shard, key=self._key, index=index)
            run(self._conn, INSERT_UTTERANCE, {**row, "record_seq": done.seq}, what=what)
        self.appended.append(done)

    def keep_policy(self, policy: Policy, *, decision_id: str) -> None:
        self._check_open()
        if policy.hash in self._known_policies or policy.hash in self.kept_policies:
            return
        with db_errors("keeping the policy text"):
            keep_policy(
                self._conn,
                policy_hash=policy.hash,
                text=policy.canonical,
                at=self._at,
                decision_id=decision_id,
            )
        self.kept_policies.append(policy.hash)

    def decision_for(self, utterance_id: str) -> str | None:
        self._check_open()
        with db_errors("looking up an earlier decision"):
            return decision_for(self._conn, utterance_id)

    def take_window(self, *, device_id: str, now: datetime) -> ListeningWindow | None:
        self._check_open()
        check_size(device_id, "device_id", MAX_KEY_BYTES)
        with db_errors("taking a listening window"):
            return take_window(self._conn, device_id=device_id, now=now)

    def mark_answered(self, *, device_id: str, utterance_id: str) -> None:
        self._check_open()
        with db_errors("marking a capture answered"):
            mark_answered(self._conn, device_id=device_id, utterance_id=utterance_id)

    def open_window(self, window: ListeningWindow) -> None:
        self._check_open()
        with db_errors("opening a listening window"):
            put_window(self._conn, window)

    def set_opt_out(self, opted_out: bool) -> None:
        self._check_open()
        with db_errors("setting opt-out"):
            self.appended.append(
                write_consent(
                    self._conn,
                    user_id=self._user_id,
                    at=self._at,
                    shard=self._shard,
                    key=self._key,
                    opted_out=bool(opted_out),
                )
            )

    def _check_open(self) -> None:
        if not self.open:
            raise StoreError(
                "expected to be used inside its 'with store.turn(...)' block, got a "
                "turn that has already committed or rolled back"
            )


def decision_for(conn: Connection, utterance_id: str) -> str | None:
    """The decision recorded for ``utterance_id`` (an index look-up), if any."""
    check_size(utterance_id, "utterance_id", MAX_KEY_BYTES)
    row = conn.execute(
        select(decisions.c.id).where(decisions.c.utterance_id == utterance_id).limit(1)
    ).first()
    return None if row is None else str(row[0])


def check_recordable(utterance: Utterance, decision: Decision) -> None:
    """Refuse, before anything is written, what the store must never keep."""
    if not isinstance(utterance, Utterance) or not isinstance(decision, Decision):
        raise BadValueError(
            "expected an Utterance and a Decision, got "
            f"{type(utterance).__name__} and {type(decision).__name__}"
        )
    if utterance.tag is UtteranceTag.AMBIENT and utterance.text:
        raise AmbientTextRefused(
            f"utterance {utterance.id!r}: expected no text for an ambient utterance "
            f"(pass utterance.redacted()), got {len(utterance.text)} characters; nothing written"
        )
    if utterance.tag is UtteranceTag.AMBIENT and decision.permit:
        raise AmbientPermitRefused(
            f"decision {decision.id!r}: expected no permitted offer for ambient utterance "
            f"{utterance.id!r}, got permit=True; nothing written"
        )
    u = utterance
    check_size(u.id, "utterance.id", MAX_KEY_BYTES)
    check_size(u.text, "utterance.text", MAX_TEXT_BYTES)
    check_size(u.locale, "utterance.locale", MAX_LOCALE_BYTES)
    check_size(u.device_id, "utterance.device_id", MAX_KEY_BYTES)
    check_size(u.user_id, "utterance.user_id", MAX_KEY_BYTES)
    check_size(u.session_id, "utterance.session_id")
    check_items(u.tag_reasons, "utterance.tag_reasons", each=MAX_SHORT_BYTES)
    check_size(decision.id, "decision.id")
    check_size(decision.rule, "decision.rule")
    check_size(decision.policy_hash, "decision.policy_hash")
    if decision.utterance_id != utterance.id:
        raise BadValueError(
            f"decision {decision.id!r}: expected utterance_id {utterance.id!r}, "
            f"got {decision.utterance_id!r}"
        )


USER_STATE = Sql.of(
    """
    SELECT 0, CAST(opted_out AS INTEGER) + 2 * CAST(child_profile AS INTEGER), NULL
      FROM users WHERE user_id = :user
    UNION ALL
    SELECT 1, count(*), NULL FROM decisions
     WHERE user_id = :user AND session_id = :session AND permit = :yes
    UNION ALL
    SELECT 2, count(*), NULL FROM decisions
     WHERE user_id = :user AND at >= :midnight AND permit = :yes
    UNION ALL
    SELECT 3, 0, offer_id FROM declined WHERE user_id = :user
    """
)
"""A user's whole state in one round trip, one row per fact: (0, opted_out + 2 * child_profile),
(1, permits in the session), (2, permits since UTC midnight), (3, a declined offer id) per offer.
A NULL session matches no decision, so a sessionless turn counts 0 in the session."""

INSERT_UTTERANCE = Sql.of(
    """
    INSERT INTO utterances
      (id, user_id, session_id, device_id, at, locale, tag, tag_reasons, text, expires_at,
       text_salt, record_shard, record_seq)
    VALUES
      (:id, :user_id, :session_id, :device_id, :at, :locale, :tag, :tag_reasons, :text,
       :expires_at, :text_salt, :record_shard, :record_seq)
    ON CONFLICT (id) DO NOTHING
    """
)
"""An utterance already kept (a retried request with the same id) stays as it is."""


def read_user_state(
    conn: Connection, *, user_id: str, session_id: str | None, now: datetime
) -> UserState:
    """Consent flags, declined offers and permit counts (session, and since UTC midnight)."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = run(
        conn,
        USER_STATE,
        {"user": user_id, "session": session_id, "midnight": db_time(midnight), "yes": True},
        what="reading user state",
    )
    flags, in_session, today, refused = 0, 0, 0, set()
    for fact, number, offer_id in rows:
        if fact == 0:
            flags = int(number)
        elif fact == 1:
            in_session = int(number)
        elif fact == 2:
            today = int(number)
        else:
            refused.add(str(offer_id))
    return UserState(
        user_id=user_id,
        opted_out=bool(flags & 1),
        child_profile=bool(flags & 2),
        declined_offer_ids=frozenset(refused),
        offers_this_session=in_session,
        offers_today=today,
    )


SET_OPT_OUT = Sql.of(
    """
    INSERT INTO users (user_id, opted_out, child_profile, updated_at)
    VALUES (:user, :opted_out, :child_profile, :at)
    ON CONFLICT (user_id) DO UPDATE
      SET opted_out = excluded.opted_out, updated_at = excluded.updated_at
    """
)
SET_CHILD_PROFILE = Sql.of(
    """
    INSERT INTO users (user_id, opted_out, child_profile, updated_at)
    VALUES (:user, :opted_out, :child_profile, :at)
    ON CONFLICT (user_id) DO UPDATE
      SET child_profile = excluded.child_profile, updated_at = excluded.updated_at
    """
)


def write_consent(
    conn: Connection,
    *,
    user_id: str,
    at: str,
    shard: int,
    key: bytes | None,
    opted_out: bool | None = None,
    child_profile: bool | None = None,
) -> Appended:
    """Upsert one of the user's consent flags and audit the change (caller holds the user lock)."""
    if (opted_out is None) == (child_profile is None):
        raise BadValueError(
            "expected exactly one of opted_out or child_profile, got "
            f"opted_out={opted_out!r}, child_profile={child_profile!r}"
        )
    kind = "opt_out" if opted_out is not None else "child_profile"
    value = bool(opted_out if opted_out is not None else child_profile)
    record = audit.entry(
        kind=kind, at=at, payload={"user_id": user_id, kind: value}, user_id=user_id
    )
    params = {"user": user_id, "opted_out": False, "child_profile": False, "at": at}
    params["opted_out" if kind == "opt_out" else "child_profile"] = value
    statement = SET_OPT_OUT if kind == "opt_out" else SET_CHILD_PROFILE
    run(conn, statement, params, what=f"setting {kind}")
    return audit.append(conn, record, shard=shard, key=key)
