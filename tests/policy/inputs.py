"""A permitted baseline turn, and one-fact variations of it, for the rule tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import Policy
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.values import (
    Decision,
    Evidence,
    Offer,
    Provenance,
    Question,
    QuestionKind,
    RequestFacts,
    UserState,
    Utterance,
)

TURN = "utt-1"
AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Inputs:
    """Everything decide() takes, as one value that tests can vary with replace()."""

    utterance: Utterance
    question: Question | None
    offer: Offer | None
    evidence: tuple[Evidence, ...]
    user: UserState
    request: RequestFacts

    def decide(self, policy: Policy) -> Decision:
        return decide(
            decision_id="dec-1",
            utterance=self.utterance,
            question=self.question,
            offer=self.offer,
            evidence=self.evidence,
            user=self.user,
            request=self.request,
            policy=policy,
        )


def utterance(
    text: str = "do you have any deals on coffee",
    *,
    tag: UtteranceTag = UtteranceTag.PROMPTED,
    turn: str = TURN,
) -> Utterance:
    return Utterance(
        id=turn,
        text=text,
        locale="en-US",
        tag=tag,
        tag_reasons=("wake_word_verified",) if tag is UtteranceTag.PROMPTED else ("no_wake_word",),
        at=AT,
        device_id="kitchen-echo",
        user_id="user-1",
        session_id="session-1",
    )


def coffee_question(turn: str = TURN) -> Question:
    return Question(turn, QuestionKind.DEAL, "coffee", ("coffee-morning-roast",), "test cue")


def evidence(
    provenance: Provenance | None = Provenance.PROMPTED, *, cites: tuple[str, ...] = (TURN,)
) -> Evidence:
    return Evidence(id=f"ev-{provenance}-{len(cites)}", provenance=provenance, utterance_ids=cites)


def baseline(policy: Policy) -> Inputs:
    """A prompted question about coffee, answered with the coffee deal: permitted."""
    question = coffee_question()
    user = UserState(user_id="user-1")
    return Inputs(
        utterance=utterance(),
        question=question,
        offer=propose_offer(question=question, policy=policy, user=user),
        evidence=(evidence(),),
        user=user,
        request=RequestFacts(),
    )


def vary(inputs: Inputs, **changes: object) -> Inputs:
    return replace(inputs, **changes)  # type: ignore[arg-type]
