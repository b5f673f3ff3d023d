"""Subject access: everything the store holds about one user, as one JSON document."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from askfirst.store.evidence import EvidenceFilter, evidence_lines
from askfirst.store.schema import db_time, declined, users, utterances
from askfirst.store.turn import read_user_state

CONSENT_KINDS = ("opt_out", "declined", "child_profile")


def subject_access(conn: Connection, *, user_id: str, now: datetime) -> dict[str, Any]:
    """Consent state, caps, declines, retained transcripts, decisions and consent records."""
    user = conn.execute(select(users).where(users.c.user_id == user_id)).first()
    state = read_user_state(conn, user_id=user_id, session_id=None, now=now)
    declines = conn.execute(
        select(declined.c.offer_id, declined.c.decision_id, declined.c.at)
        .where(declined.c.user_id == user_id)
        .order_by(declined.c.at, declined.c.offer_id)
    ).all()
    kept = conn.execute(
        select(utterances)
        .where(utterances.c.user_id == user_id)
        .order_by(utterances.c.at, utterances.c.id)
    ).all()
    decisions = list(evidence_lines(conn, EvidenceFilter(user=user_id, kinds=("decision",))))
    consent_records = list(evidence_lines(conn, EvidenceFilter(user=user_id, kinds=CONSENT_KINDS)))
    return {
        "user_id": user_id,
        "generated_at": db_time(now, field="now"),
        "consent": {
            "opted_out": state.opted_out,
            "child_profile": state.child_profile,
            "updated_at": None if user is None else user.updated_at,
            "known": user is not None,
        },
        "caps": {"offers_today": state.offers_today, "day": db_time(now)[:10]},
        "declined": [
            {"offer_id": r.offer_id, "decision_id": r.decision_id, "at": r.at} for r in declines
        ],
        "transcripts": [
            {
                "utterance_id": r.id,
                "at": r.at,
                "device_id": r.device_id,
                "session_id": r.session_id,
                "locale": r.locale,
                "tag": r.tag,
                "tag_reasons": json.loads(r.tag_reasons),
                "text": r.text,
                "expires_at": r.expires_at,
            }
            for r in kept
        ],
        "decisions": decisions,
        "consent_records": consent_records,
        "counts": {
            "transcripts": len(kept),
            "transcripts_with_text": sum(1 for r in kept if r.text is not None),
            "decisions": len(decisions),
            "offers": sum(1 for d in decisions if d["permit"]),
            "declined": len(declines),
            "consent_records": len(consent_records),
        },
    }
