"""The wire shape of one turn's result: the device API's answer and the simulator's ``--json``.

Built from the policy's own values (``askfirst.policy.wire`` writes the same dataclasses the same
way for the store), so the decision a device reads is field for field the decision recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from askfirst.core.tags import UtteranceTag
from askfirst.policy.detector import Command
from askfirst.policy.values import CatalogEntry, Decision, NoQuestion, Question
from askfirst.speech.broadcast import Outcome
from askfirst.speech.transcriber import Word


class TurnResultBody(BaseModel):
    """Everything a caller may show about one turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    utterance_id: str
    outcome: Outcome = Field(
        description="What other devices' reports made of this capture: answered_elsewhere "
        "means another device of the household answers it (no decision, no offer, nothing "
        "recorded or counted here)."
    )
    heard_by: tuple[str, ...] = Field(
        description="Other devices that heard the same sound within the broadcast window."
    )
    answered_by: str | None = Field(description="For answered_elsewhere: the device answering.")
    known_media: str | None = Field(description="For known_media: the registered medium's name.")
    transcript: str = Field(
        description="What was heard; returned to the caller, never stored when ambient."
    )
    words: tuple[Word, ...] = Field(description="Recognised words with times, for audio turns.")
    tag: UtteranceTag
    tag_reasons: tuple[str, ...] = Field(description="Why the tag: the deciding reason first.")
    question: Question | None
    no_question: NoQuestion | None = Field(
        default=None,
        description="Why a prompted text held no explicit product question: reason "
        "(negated, reported, task_command, no_product, not_a_question), detail, template.",
    )
    command: Command | None
    decision: Decision | None = Field(
        description="The policy's decision, in the shape the store records it; its offer is "
        "the candidate (permitted or denied). Null when answered elsewhere."
    )
    offer: CatalogEntry | None = Field(
        description="The offer to deliver: present only when the decision permits it."
    )


class DeferredBody(BaseModel):
    """The 202 answer to ``Prefer: respond-async``: send the capture again at ``decide_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["pending"] = "pending"
    utterance_id: str = Field(description="Send the capture again with this utterance_id.")
    decide_at: datetime = Field(
        description="When other devices' reports of the same sound are all in: the broadcast "
        "hold after the server first registered the capture."
    )
    retry_after: float = Field(description="Seconds from now until decide_at.")
