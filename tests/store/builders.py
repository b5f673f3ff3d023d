"""Small builders for the policy values the store tests write."""

from __future__ import annotations

from datetime import UTC, datetime

from askfirst.core.tags import UtteranceTag
from askfirst.policy.values import (
    CatalogEntry,
    Decision,
    Obligation,
    OfferKind,
    Question,
    QuestionKind,
    RuleResult,
    UserState,
    Utterance,
    Verdict,
)
from askfirst.store.sql import SqlStore

NOW = datetime(2024, 5, 17, 12, 30, tzinfo=UTC)

SHOES = CatalogEntry(
    id="shoes-1",
    title="Trail runner",
    category="running shoes",
    synonyms=("sneakers",),
    kind=OfferKind.SPOKEN_DEAL,
    disclosure="Sponsored:",
    pitch="light and grippy",
)


def utterance(
    uid: str = "u1",
    *,
    tag: UtteranceTag = UtteranceTag.PROMPTED,
    text: str = "what running shoes do you recommend",
    at: datetime = NOW,
    device_id: str = "dev-1",
    user_id: str | None = "user-1",
    session_id: str | None = "s1",
) -> Utterance:
    return Utterance(
        id=uid,
        text=text,
        locale="en-US",
        tag=tag,
        tag_reasons=("wake_word_verified",) if tag is UtteranceTag.PROMPTED else ("no_wake_word",),
        at=at,
        device_id=device_id,
        user_id=user_id,
        session_id=session_id,
    )


def decision(
    did: str = "d1",
    *,
    utterance_id: str = "u1",
    permit: bool = True,
    offer: CatalogEntry | None = SHOES,
) -> Decision:
    return Decision(
        id=did,
        utterance_id=utterance_id,
        permit=permit,
        rule="permit" if permit else "R1.prompted",
        results=(
            RuleResult(
                rule="R1.prompted",
                verdict=Verdict.PASS if permit else Verdict.FORBID,
                reason="the user asked",
            ),
        ),
        evidence_ids=(f"{utterance_id}/utterance",),
        obligations=(Obligation(code="disclose", text="Sponsored:"),) if permit else (),
        offer=offer,
        policy_hash="ph-1",
        would_change=() if permit else ("asking directly",),
        question=Question(
            utterance_id=utterance_id,
            kind=QuestionKind.RECOMMENDATION,
            topic="running shoes",
            catalog_ids=("shoes-1",),
            cue="what ... do you recommend",
        ),
    )


def consent(user_id: str = "user-1") -> UserState:
    return UserState(user_id=user_id)


def neighbour(store: SqlStore, of: str = "user-1") -> str:
    """Another user whose records go to the same audit shard (and write path) as ``of``."""
    return next(
        f"other-{n}" for n in range(10_000) if store.shard_of(f"other-{n}") == store.shard_of(of)
    )
