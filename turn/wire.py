"""The wire shape of one turn's result: the device API's answer and the simulator's ``--json``.

Built from the policy's own values (``askfirst.policy.wire`` writes the same dataclasses the same
way for the store), so the decision a device reads is field for field the decision recorded.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from askfirst.core.tags import UtteranceTag
from askfirst.policy.detector import Command
from askfirst.policy.values import CatalogEntry, Decision, NoQuestion, Question
from askfirst.speech.transcriber import Word


class TurnResultBody(BaseModel):
    """Everything a caller may show about one turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    utterance_id: str
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
    decision: Decision = Field(
        description="The policy's decision, in the shape the store records it; its offer is "
        "the candidate (permitted or denied)."
    )
    offer: CatalogEntry | None = Field(
        description="The offer to deliver: present only when the decision permits it."
    )
