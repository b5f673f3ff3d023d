"""The audit report: per day and in total, counted from evidence lines (pure).

Counts come from the chained columns where they exist (kind, permit, rule, policy hash), so an
erased record still counts; what only the payload knows (tag, reasons, offer id, consent value)
is counted under ``(erased)`` once the payload is gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ERASED = "(erased)"


@dataclass
class Tally:
    """The counts of one day, or of the whole period."""

    turns: int = 0
    turns_by_tag: Counter[str] = field(default_factory=Counter)
    turns_by_reason: Counter[str] = field(default_factory=Counter)
    """(tag, reason) as "tag:reason"; a turn with two reasons counts under both."""
    offers: Counter[str] = field(default_factory=Counter)
    denials: Counter[str] = field(default_factory=Counter)
    consent: Counter[str] = field(default_factory=Counter)
    """opt_out, opt_in, declined, child_profile_on, child_profile_off."""
    erasures: int = 0
    erased_records: int = 0
    references: list[str] = field(default_factory=list)
    policies: Counter[str] = field(default_factory=Counter)
    """Decisions per policy hash."""
    ambient_seen: int = 0
    ambient_with_text: int = 0
    offers_not_prompted: int = 0
    offers_erased: int = 0
    """Offers whose record was erased (right to erasure): their tag can no longer be read."""

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one evidence line."""
        kind = line["kind"]
        payload = line["payload"] if isinstance(line["payload"], dict) else None
        if kind == "decision":
            self._decision(line, payload)
        elif kind == "opt_out":
            value = None if payload is None else payload.get("opt_out")
            self.consent[ERASED if value is None else ("opt_out" if value else "opt_in")] += 1
        elif kind == "declined":
            self.consent["declined"] += 1
        elif kind == "child_profile":
            value = None if payload is None else payload.get("child_profile")
            name = ERASED if value is None else f"child_profile_{'on' if value else 'off'}"
            self.consent[name] += 1
        elif kind == "forget":
            self.erasures += 1
            if payload is not None:
                self.erased_records += int(payload.get("erased_records") or 0)
                if payload.get("reference"):
                    self.references.append(str(payload["reference"]))

    def _decision(self, line: Mapping[str, Any], payload: Mapping[str, Any] | None) -> None:
        self.turns += 1
        self.policies[str(line["policy_hash"])] += 1
        utterance = (payload or {}).get("utterance") or {}
        tag = utterance.get("tag") or ERASED
        self.turns_by_tag[tag] += 1
        for reason in utterance.get("tag_reasons") or ([ERASED] if payload is None else []):
            self.turns_by_reason[f"{tag}:{reason}"] += 1
        if tag == "ambient":
            self.ambient_seen += 1
            if utterance.get("text"):
                self.ambient_with_text += 1
        if line["permit"]:
            self.offers[line["offer_id"] or ERASED] += 1
            if tag == ERASED:
                self.offers_erased += 1  # erased on request: its evidence is gone, not wrong
            elif tag != "prompted":
                self.offers_not_prompted += 1
        else:
            self.denials[str(line["rule"])] += 1

    def to_json(self) -> dict[str, Any]:
        """The JSON form (counters as sorted objects)."""
        return {
            "turns": self.turns,
            "turns_by_tag": dict(sorted(self.turns_by_tag.items())),
            "turns_by_reason": dict(sorted(self.turns_by_reason.items())),
            "offers": dict(sorted(self.offers.items())),
            "denials": dict(sorted(self.denials.items())),
            "consent": dict(sorted(self.consent.items())),
            "erasures": self.erasures,
            "erased_records": self.erased_records,
            "erasure_references": sorted(self.references),
            "policies": dict(sorted(self.policies.items())),
        }


@dataclass
class AuditReport:
    """Per-day tallies and the total, with the privacy statement's figures."""

    since: str | None
    until: str | None
    days: dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)
    ambient_rows_with_text: int = 0
    """Ambient utterances the database holds with text in the period (must be 0)."""

    def add(self, line: Mapping[str, Any]) -> None:
        """Count one evidence line in its (recorded, UTC) day and in the total."""
        day = str(line["recorded_at"])[:10]
        self.days.setdefault(day, Tally()).add(line)
        self.total.add(line)

    @property
    def ambient_stored_with_text(self) -> int:
        """Ambient turns kept with text anywhere (records or utterances table): must be 0."""
        return self.total.ambient_with_text + self.ambient_rows_with_text

    @property
    def clean(self) -> bool:
        """True when no ambient text was kept and every offer answered a prompted question."""
        return self.ambient_stored_with_text == 0 and self.total.offers_not_prompted == 0

    def privacy_statement(self) -> str:
        """One line, computed from the log."""
        verdict = "as required" if self.clean else "VIOLATION"
        return (
            f"privacy: {self.total.ambient_seen} ambient turns seen, "
            f"{self.ambient_stored_with_text} stored with text (must be 0), "
            f"{self.total.offers_not_prompted} offers whose evidence was not prompted "
            f"(must be 0): {verdict}"
            + (
                f" ({self.total.offers_erased} offers' records erased on request)"
                if self.total.offers_erased
                else ""
            )
        )

    def to_json(self) -> dict[str, Any]:
        """The ``--format json`` document."""
        return {
            "since": self.since,
            "until": self.until,
            "privacy": {
                "ambient_turns_seen": self.total.ambient_seen,
                "ambient_turns_stored_with_text": self.ambient_stored_with_text,
                "offers_not_prompted": self.total.offers_not_prompted,
                "offers_erased": self.total.offers_erased,
                "clean": self.clean,
                "statement": self.privacy_statement(),
            },
            "total": self.total.to_json(),
            "days": {day: tally.to_json() for day, tally in sorted(self.days.items())},
        }


def build_report(
    lines: Iterable[Mapping[str, Any]],
    *,
    since: str | None,
    until: str | None,
    ambient_rows_with_text: int,
) -> AuditReport:
    """Count every line into a report."""
    report = AuditReport(since=since, until=until, ambient_rows_with_text=ambient_rows_with_text)
    for line in lines:
        report.add(line)
    return report
