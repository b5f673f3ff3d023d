"""Decisions in plain English: the answer to "why did you suggest that" and ``askfirst explain``."""

from __future__ import annotations

from askfirst.policy.values import Decision, Question, QuestionKind, Verdict

_KIND_WORDS = {
    QuestionKind.RECOMMENDATION: "asked for a recommendation",
    QuestionKind.DEAL: "asked about deals",
    QuestionKind.REQUEST: "asked me to find",
    QuestionKind.AVAILABILITY: "asked whether I have",
    QuestionKind.PRICE: "asked the price of",
    QuestionKind.BROWSE: "asked what you can buy",
}


_MARKS = {Verdict.PASS: "pass  ", Verdict.FORBID: "FORBID", Verdict.NOT_APPLICABLE: "n/a   "}


def _asked(question: Question) -> str:
    words = _KIND_WORDS[question.kind]
    if question.topic is None:
        return f"you {words}"
    if question.kind in (QuestionKind.RECOMMENDATION, QuestionKind.DEAL):
        return f"you {words} on {question.topic!r}"
    return f"you {words} {question.topic!r}"


def summary(decision: Decision) -> str:
    """One or two sentences, short enough to be spoken."""
    if decision.permit and decision.offer is not None:
        asked = "you asked" if decision.question is None else _asked(decision.question)
        return (
            f"I mentioned {decision.offer.title} only because {asked} just now, "
            "and every privacy rule allowed it. Nothing overheard was used."
        )
    deciding = next((r for r in decision.results if r.rule == decision.rule), None)
    because = deciding.reason if deciding is not None else "no rule allowed it"
    return f"I made no offer, because {because}."


def explain(decision: Decision, *, detail: bool = True) -> str:
    """The decision in plain words; with ``detail``, every rule's verdict and reason as well."""
    lines = [summary(decision)]
    if decision.permit and decision.offer is not None:
        lines.append(f"It was disclosed as: {decision.offer.disclosure}")
    if not decision.permit and decision.would_change:
        lines.append("It would have changed with: " + "; ".join(decision.would_change) + ".")
    if not detail:
        return " ".join(lines)
    if decision.question is not None:
        lines.append(f"Question cue: {decision.question.cue}")
    lines.append(f"Decision {decision.id} for utterance {decision.utterance_id}:")
    for result in decision.results:
        mark = _MARKS[result.verdict]
        lines.append(f"  {mark} {result.rule}: {result.reason}")
    if decision.obligations:
        lines.append("Obligations:")
        lines.extend(f"  {o.code}: {o.text}" for o in decision.obligations)
    if decision.evidence_ids:
        lines.append("Evidence: " + ", ".join(decision.evidence_ids))
    lines.append(f"Policy: {decision.policy_hash}")
    return "\n".join(lines)
