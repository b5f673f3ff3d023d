"""One turn's transaction on the SQL store: user state, recording a decision, consent changes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, insert, select, update

from policy.values import Decision, UserState, Utterance, UtteranceTag
from store import audit
from store.audit import Appended
from store.base import TurnTx
from store.codec import decision_to_json, user_state_to_json, utterance_to_json
from store.engine import db_errors
from store.errors import AmbientPermitRefused, AmbientTextRefused, BadValueError, StoreError
from store.schema import db_time, decisions, declined, users, utterances

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
    ) -> None:
        self._conn = conn
        self._user_id = user_id
        self._session_id = session_id
        self._now = now
        self._at = db_time(now, field="now")
        self._retention = retention
        self.appended: list[Appended] = []
        self.open = True

    def user_state(self) -> UserState:
        self._check_open()
        with db_errors("reading user state"):
            return read_user_state(
                self._conn, user_id=self._user_id, session_id=self._session_id, now=self._now
            )

    def record(self, *, utterance: Utterance, decision: Decision, consent: UserState) -> None:
        self._check_open()
        check_recordable(utterance, decision)
        u = utterance
        payload = {
            "user_id": self._user_id,
            "session_id": self._session_id,
            "utterance": {**utterance_to_json(u), "text": None},
            "decision": decision_to_json(decision),
            "consent": user_state_to_json(consent),
        }
        with db_errors(f"recording decision {decision.id!r}"):
            known = self._conn.execute(select(utterances.c.id).where(utterances.c.id == u.id))
            if known.first() is None:
                self._conn.execute(
                    insert(utterances).values(
                        id=u.id,
                        user_id=self._user_id,
                        session_id=self._session_id,
                        device_id=u.device_id,
                        at=db_time(u.at, field="utterance.at"),
                        locale=u.locale,
                        tag=u.tag.value,
                        tag_reasons=json.dumps(list(u.tag_reasons)),
                        text=u.text if u.tag is UtteranceTag.PROMPTED else None,
                        expires_at=db_time(self._now + self._retention, field="now"),
                    )
                )
            done = audit.append(
                self._conn,
                kind="decision",
                at=self._at,
                payload=payload,
                user_id=self._user_id,
                decision_id=decision.id,
                permit=decision.permit,
                rule=decision.rule,
                policy_hash=decision.policy_hash,
            )
            self._conn.execute(
                insert(decisions).values(
                    id=decision.id,
                    seq=done.seq,
                    user_id=self._user_id,
                    session_id=self._session_id,
                    utterance_id=decision.utterance_id,
                    at=self._at,
                    permit=decision.permit,
                    has_offer=decision.offer is not None,
                )
            )
        self.appended.append(done)

    def set_opt_out(self, opted_out: bool) -> None:
        self._check_open()
        with db_errors("setting opt-out"):
            self.appended.append(
                write_consent(
                    self._conn, user_id=self._user_id, at=self._at, opted_out=bool(opted_out)
                )
            )

    def _check_open(self) -> None:
        if not self.open:
            raise StoreError(
                "expected to be used inside its 'with store.turn(...)' block, got a "
                "turn that has already committed or rolled back"
            )


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
    if decision.utterance_id != utterance.id:
        raise BadValueError(
            f"decision {decision.id!r}: expected utterance_id {utterance.id!r}, "
            f"got {decision.utterance_id!r}"
        )


def read_user_state(
    conn: Connection, *, user_id: str, session_id: str | None, now: datetime
) -> UserState:
    """Consent flags, declined offers and permit counts (session, and since UTC midnight)."""
    row = conn.execute(
        select(users.c.opted_out, users.c.child_profile).where(users.c.user_id == user_id)
    ).first()
    refused = conn.execute(select(declined.c.offer_id).where(declined.c.user_id == user_id))
    permits = (
        select(func.count())
        .select_from(decisions)
        .where(decisions.c.user_id == user_id, decisions.c.permit.is_(True))
    )
    in_session = 0
    if session_id is not None:
        in_session = conn.execute(permits.where(decisions.c.session_id == session_id)).scalar_one()
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today = conn.execute(permits.where(decisions.c.at >= db_time(midnight))).scalar_one()
    return UserState(
        user_id=user_id,
        opted_out=bool(row.opted_out) if row else False,
        child_profile=bool(row.child_profile) if row else False,
        declined_offer_ids=frozenset(str(r.offer_id) for r in refused),
        offers_this_session=int(in_session),
        offers_today=int(today),
    )


def write_consent(
    conn: Connection,
    *,
    user_id: str,
    at: str,
    opted_out: bool | None = None,
    child_profile: bool | None = None,
) -> Appended:
    """Upsert the user's consent flags and audit the change (caller holds the user lock)."""
    changes: dict[str, object] = {"updated_at": at}
    if opted_out is not None:
        changes["opted_out"] = opted_out
    if child_profile is not None:
        changes["child_profile"] = child_profile
    exists = conn.execute(select(users.c.user_id).where(users.c.user_id == user_id)).first()
    if exists is None:
        conn.execute(
            insert(users).values(
                user_id=user_id,
                opted_out=bool(opted_out),
                child_profile=bool(child_profile),
                updated_at=at,
            )
        )
    else:
        conn.execute(update(users).where(users.c.user_id == user_id).values(**changes))
    kind = "opt_out" if opted_out is not None else "child_profile"
    value = opted_out if opted_out is not None else child_profile
    return audit.append(
        conn, kind=kind, at=at, payload={"user_id": user_id, kind: value}, user_id=user_id
    )
