"""Rendering a simulation: a readable timeline (colour only on a terminal) or JSON Lines."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

from askfirst.skill.simulator.runner import Outcome, Report

_COLOURS = {"green": "32", "yellow": "33", "red": "31", "dim": "2", "bold": "1", "cyan": "36"}


class Style:
    """ANSI colours when ``enabled``; plain text otherwise."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, colour: str) -> str:
        if not self.enabled:
            return text
        return f"\033[{_COLOURS[colour]}m{text}\033[0m"


def json_lines(report: Report) -> Iterator[str]:
    """One JSON object per event (``--json``)."""
    for outcome in report.outcomes:
        yield json.dumps(outcome.to_json(), ensure_ascii=False, sort_keys=True)


def timeline(report: Report, *, style: Style, verbose: bool = False) -> Iterator[str]:
    """The readable timeline: a header, a block per event, and a summary."""
    scenario = report.loaded.scenario
    yield style(f"{scenario.name}", "bold") + style(f"  ({report.loaded.source})", "dim")
    if scenario.description:
        for line in textwrap.wrap(scenario.description.strip(), width=96):
            yield style(line, "dim")
    yield ""
    for outcome in report.outcomes:
        yield from _event(outcome, style=style, verbose=verbose)
    yield from summary(report, style=style)


def summary(report: Report, *, style: Style) -> Iterator[str]:
    """Counts of turns and offers, and every failed expectation."""
    turns = [o.result for o in report.outcomes if o.result is not None]
    offers = sum(1 for r in turns if r.get("offer"))
    ambient = sum(1 for r in turns if r.get("tag") == "ambient")
    checked = sum(1 for o in report.outcomes if o.event.expect is not None)
    yield (
        f"{len(report.outcomes)} events, {len(turns)} turns: {ambient} ambient, "
        f"{offers} offer{'s' if offers != 1 else ''} made"
    )
    if report.ok:
        held = "the expectation held" if checked == 1 else f"all {checked} expectations held"
        yield style(held, "green") if checked else "no expectations"
        return
    failed = report.failures
    yield style(f"{len(failed)} expectation{'s' if len(failed) != 1 else ''} failed:", "red")
    for failure in failed:
        yield style(f"  {failure}", "red")


def _event(outcome: Outcome, *, style: Style, verbose: bool) -> Iterator[str]:
    event = outcome.event
    who = f"{event.device}" + (f" · {outcome.user}" if outcome.user else "")
    head = style(f"{event.at:7.1f}s", "cyan") + f"  {who}"
    pad = " " * 10
    result = outcome.result
    if event.assistant_asks is not None:
        yield f"{head}  assistant asks {event.assistant_asks!r}" + style(
            "  → follow-up window opens", "dim"
        )
        return
    if event.decline is not None:
        yield f"{head}  declines the offer {event.decline!r}" + style(
            "  → not offered to them again", "dim"
        )
        return
    if result is None:
        return
    if event.intent is not None:
        slots = ", ".join(f"{k}={v}" for k, v in event.slots.items())
        heard = f"Alexa intent {event.intent}" + (f"({slots})" if slots else "")
    else:
        source = f" [{event.audio}]" if event.audio else ""
        heard = f"heard {result.get('transcript', '')!r}{source} ({event.trigger})"
    yield f"{head}  {heard}"
    tag = str(result.get("tag"))
    reasons = ", ".join(result.get("tag_reasons") or [])
    yield (
        f"{pad}tag       "
        + style(tag, "green" if tag == "prompted" else "yellow")
        + (f" ({reasons})" if reasons else "")
    )
    yield f"{pad}question  {_question(result)}"
    decision = result.get("decision") or {}
    offer = result.get("offer")
    rule = str(decision.get("rule"))
    if result.get("explanation"):
        lines = str(result["explanation"]).splitlines()
        yield f"{pad}explains  {lines[0]}"
        for line in lines[1:]:
            yield f"{pad}          {line}"
    if result.get("outcome") == "answered_elsewhere":
        yield f"{pad}decision  none — answered by {result.get('answered_by')!r} in this home"
    elif not decision:
        yield f"{pad}decision  none (this request makes no decision)"
    elif offer:
        yield f"{pad}decision  " + style("offer permitted", "green") + f" ({rule})"
        yield f"{pad}offer     {offer.get('title')} [{offer.get('id')}]"
        if offer.get("pitch"):
            yield f"{pad}          says: {offer.get('pitch')}"
        yield f"{pad}          disclosure: {offer.get('disclosure')}"
    else:
        yield f"{pad}decision  " + style("no offer", "bold") + f" — {rule}: {_reason(decision)}"
    if verbose:
        for item in decision.get("results") or []:
            yield style(f"{pad}  {item['rule']:<22} {item['verdict']:<7} {item['reason']}", "dim")
    for failure in outcome.failures:
        yield style(f"{pad}✗ {failure.split(': ', 1)[-1]}", "red")
    if event.expect is not None and not outcome.failures:
        yield style(f"{pad}✓ {_expected(event.expect.model_dump(exclude_none=True))}", "green")


def _question(result: dict[str, Any]) -> str:
    question = result.get("question")
    command = result.get("command")
    if command:
        return f"none — command {command!r}"
    if not question:
        no = result.get("no_question")
        if not no:
            return "none"
        detail = f" {no.get('detail')!r}" if no.get("detail") else ""
        return f"none — {no.get('reason')}{detail}"
    topic = question.get("topic")
    return f"{question.get('kind')}" + (f" about {topic!r}" if topic else "")


def _reason(decision: dict[str, Any]) -> str:
    rule = decision.get("rule")
    for item in decision.get("results") or []:
        if item.get("rule") == rule:
            return str(item.get("reason"))
    return "no candidate offer"


def _expected(expect: dict[str, Any]) -> str:
    return "expected " + ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in expect.items()
    )
