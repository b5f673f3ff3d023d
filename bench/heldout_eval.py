"""Precision and recall of the question detector on the frozen held-out set (tests/heldout/).

Run: .venv/bin/python bench/heldout_eval.py [--misses]

Scored as tests/heldout/README.md says. Every line goes through the real policy: the detector,
then propose_offer() and decide() for a fresh user, so "an offer" means a permitted decision.

- question: recalled when an offer is permitted for the expected catalog id (the top entry);
- command, smalltalk, negated, reported: fed as PROMPTED, any permitted offer is a false positive;
- ambient: fed as AMBIENT (the tag gate must stop them), and also as PROMPTED text (detector
  alone, reported separately: not the target).
Precision: of the prompted lines that got an offer, the share that are questions offered their
expected entry. The set was written before the grammar and is never edited or tuned against.
"""

from __future__ import annotations

import argparse
import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, Policy, load_policy
from askfirst.policy.detector import detect
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.values import Evidence, Provenance, RequestFacts, UserState, Utterance

HELDOUT = Path(__file__).resolve().parents[1] / "tests" / "heldout"
AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Scores:
    """One locale's counts."""

    locale: str
    questions: int = 0
    recalled: int = 0
    offered: int = 0
    offered_right: int = 0
    false_offers: Counter[str] = field(default_factory=Counter)
    """Prompted non-question lines that got an offer, by label."""
    lines: Counter[str] = field(default_factory=Counter)
    ambient_offers: int = 0
    ambient_as_prompted_offers: int = 0
    commands_named: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.recalled / self.questions if self.questions else 0.0

    @property
    def precision(self) -> float:
        return self.offered_right / self.offered if self.offered else 1.0

    def command_offer_rate(self) -> float:
        commands = self.lines["command"]
        return self.false_offers["command"] / commands if commands else 0.0


def _offer(policy: Policy, text: str, locale: str, tag: UtteranceTag) -> tuple[str | None, str]:
    """The permitted offer's catalog id (or None) and what the detector said."""
    utterance = Utterance(
        id="h",
        text=text,
        locale=locale,
        tag=tag,
        tag_reasons=(),
        at=AT,
        device_id="d",
        user_id="u",
    )
    found = detect(text=text, utterance_id="h", locale=locale, catalog=policy.catalog)
    question = found.question if tag is UtteranceTag.PROMPTED else None
    user = UserState(user_id="u")
    offer = propose_offer(question=question, policy=policy, user=user)
    decision = decide(
        decision_id="x",
        utterance=utterance,
        question=question,
        offer=offer,
        evidence=(Evidence("e", Provenance(tag.value), ("h",)),),
        user=user,
        request=RequestFacts(),
        policy=policy,
        no_question=found.no,
    )
    said = found.question.cue if found.question else (found.no.describe() if found.no else "")
    permitted = decision.permit and decision.offer is not None
    return (decision.offer.id if permitted and decision.offer else None), said


def evaluate(locale: str, policy: Policy | None = None) -> Scores:
    """Score ``tests/heldout/<locale>.tsv``."""
    policy = policy or load_policy(EXAMPLE_POLICY_PATH)
    scores = Scores(locale)
    with (HELDOUT / f"{locale}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    for row in rows:
        text, label = row["text"], row["label"]
        scores.lines[label] += 1
        if label == "ambient":
            offered, _ = _offer(policy, text, locale, UtteranceTag.AMBIENT)
            scores.ambient_offers += offered is not None
            offered, _ = _offer(policy, text, locale, UtteranceTag.PROMPTED)
            scores.ambient_as_prompted_offers += offered is not None
            continue
        offered, said = _offer(policy, text, locale, UtteranceTag.PROMPTED)
        if label == "command" and "task_command" in said:
            scores.commands_named += 1
        if label == "question":
            scores.questions += 1
            right = offered == row["catalog_id"]
            scores.recalled += right
            if not right:
                scores.misses.append(f"MISS  {text!r} -> {offered} | {said}")
        elif offered is not None:
            scores.false_offers[label] += 1
            scores.misses.append(f"FALSE {label}: {text!r} -> {offered} | {said}")
        if offered is not None:
            scores.offered += 1
            scores.offered_right += label == "question" and offered == row["catalog_id"]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every miss and false offer")
    args = parser.parse_args()
    for locale in ("en-US", "ko-KR"):
        s = evaluate(locale)
        others = s.false_offers - Counter(command=s.false_offers["command"])
        print(
            f"{locale}: recall {s.recall:.1%} ({s.recalled}/{s.questions} questions offered their "
            f"entry), precision {s.precision:.1%} ({s.offered_right}/{s.offered} offers right); "
            f"prompted commands offered {s.false_offers['command']}/{s.lines['command']} "
            f"({s.command_offer_rate():.1%}), named as task commands {s.commands_named}; "
            f"other false offers {dict(others)}; "
            f"ambient offered {s.ambient_offers}/{s.lines['ambient']} "
            f"(as prompted text: {s.ambient_as_prompted_offers})"
        )
        if args.misses:
            for line in s.misses:
                print("   ", line)


if __name__ == "__main__":
    main()
