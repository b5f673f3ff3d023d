"""Rendering the audit report (text, JSON, CSV) and parsing the evidence filters' times."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import TextIO

from askfirst.store.report import AuditReport, Tally

FORMATS = ("text", "json", "csv")
SECTIONS = ("turns_by_tag", "turns_by_reason", "offers", "denials", "consent", "policies")


def moment(text: str) -> datetime:
    """``--since``/``--until``: a date (its midnight UTC) or an ISO time with its UTC offset."""
    try:
        if len(text.strip()) == 10:
            return datetime.combine(date.fromisoformat(text.strip()), time(0), tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date (2026-01-05) or a time with its UTC offset "
            f"(2026-01-05T09:00:00Z), got {text!r}"
        ) from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"expected a time with its UTC offset (…Z or …+09:00), got {text!r}"
        )
    return value.astimezone(UTC)


def write_report(report: AuditReport, out: TextIO, fmt: str) -> None:
    """Write ``report`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        out.write(json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["day", "section", "key", "count"])
        writer.writerows(_csv_rows(report))
    else:
        for line in _text(report):
            out.write(line + "\n")


def _csv_rows(report: AuditReport) -> Iterator[list[str]]:
    for day, tally in [("total", report.total), *sorted(report.days.items())]:
        yield [day, "turns", "", str(tally.turns)]
        for section in SECTIONS:
            for key, count in sorted(getattr(tally, section).items()):
                yield [day, section, key, str(count)]
        yield [day, "erasures", "", str(tally.erasures)]
        yield [day, "erased_records", "", str(tally.erased_records)]
        yield [day, "ambient_seen", "", str(tally.ambient_seen)]
        yield [day, "offers_not_prompted", "", str(tally.offers_not_prompted)]
        yield [day, "offers_erased", "", str(tally.offers_erased)]
    yield ["total", "ambient_stored_with_text", "", str(report.ambient_stored_with_text)]


def _text(report: AuditReport) -> Iterator[str]:
    span = f"{report.since or 'the beginning'} .. {report.until or 'now'}"
    yield f"audit report, records from {span} (recorded time; days in UTC)"
    yield report.privacy_statement()
    yield ""
    yield "total"
    yield from _tally(report.total, indent="  ")
    for day, tally in sorted(report.days.items()):
        yield ""
        yield day
        yield from _tally(tally, indent="  ")


def _tally(tally: Tally, *, indent: str) -> Iterator[str]:
    offers = sum(tally.offers.values())
    denials = sum(tally.denials.values())
    yield f"{indent}turns: {tally.turns} ({_pairs(tally.turns_by_tag)})"
    yield f"{indent}  by tag and reason: {_pairs(tally.turns_by_reason)}"
    yield f"{indent}offers: {offers} ({_pairs(tally.offers)})"
    yield f"{indent}denials: {denials} ({_pairs(tally.denials)})"
    yield f"{indent}consent: {_pairs(tally.consent)}"
    refs = f"; references {', '.join(sorted(tally.references))}" if tally.references else ""
    yield f"{indent}erasures: {tally.erasures} ({tally.erased_records} records erased{refs})"
    for policy_hash, count in sorted(tally.policies.items()):
        yield f"{indent}policy {policy_hash}: {count} decisions"


def _pairs(counter: dict[str, int]) -> str:
    return ", ".join(f"{key} {count}" for key, count in sorted(counter.items())) or "none"
