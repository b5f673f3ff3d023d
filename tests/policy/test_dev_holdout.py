"""The frozen development hold-out (tests/policy/dev_holdout/) as a regression floor.

Its sentences were written in one batch with the q10 dev lines of policy/locales/<locale>.tests.yaml
and split off at random before the grammar was changed; they are never tuned against, so their
recall says how the grammar does on phrasings it was not fitted to. The floors sit a little below
the figures measured when the hold-out was last scored (README, "Question detection").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.detector import detect

HOLDOUT = Path(__file__).resolve().parent / "dev_holdout"
POLICY = load_policy(EXAMPLE_POLICY_PATH)
RECALL_FLOORS = {"en-US": 0.76, "ko-KR": 0.78}
"""Share of the hold-out's questions recognised with the expected catalog entry (or as browse)."""
NEGATIVE_FLOOR = 1.0
"""Share of the hold-out's not-questions (commands, negations, reported speech, statements, other
questions) that get no question: a false question is a possible unsolicited offer."""


def _holdout(locale: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HOLDOUT / f"{locale}.yaml").read_text("utf-8"))
    assert data["locale"] == locale
    return data


def _recognised(locale: str, item: dict[str, str]) -> bool:
    found = detect(text=item["text"], utterance_id="h", locale=locale, catalog=POLICY.catalog)
    if found.question is None:
        return False
    if item["kind"] == "browse":
        return found.question.kind.value == "browse"
    return found.question.catalog_ids[:1] == (item["catalog_id"],)


@pytest.mark.parametrize("locale", sorted(RECALL_FLOORS))
def test_dev_holdout_recall_floor(locale: str) -> None:
    questions = _holdout(locale)["questions"]
    missed = [item["text"] for item in questions if not _recognised(locale, item)]
    recall = 1 - len(missed) / len(questions)
    assert len(questions) >= 50
    assert recall >= RECALL_FLOORS[locale], (recall, missed)


@pytest.mark.parametrize("locale", sorted(RECALL_FLOORS))
def test_dev_holdout_not_questions_stay_not_questions(locale: str) -> None:
    lines = _holdout(locale)["not_questions"]
    found = [
        (
            item["text"],
            detect(text=item["text"], utterance_id="h", locale=locale, catalog=POLICY.catalog),
        )
        for item in lines
    ]
    taken = [text for text, detection in found if detection.question is not None]
    assert len(lines) >= 15
    assert 1 - len(taken) / len(lines) >= NEGATIVE_FLOOR, taken
