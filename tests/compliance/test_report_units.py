"""The report's arithmetic on hand-made evidence lines, and bad report arguments."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from askfirst.skill.cli.main import main
from askfirst.store.report import build_report


def decision(*, tag: str | None, permit: bool, offer: str | None = None) -> dict[str, Any]:
    payload = None
    if tag is not None:
        payload = {"utterance": {"tag": tag, "tag_reasons": ["r"], "text": None}}
    return {
        "kind": "decision",
        "recorded_at": "2026-01-05T10:00:00.000000+00:00",
        "permit": permit,
        "rule": "permit" if permit else "R1.prompted",
        "policy_hash": "p" * 64,
        "offer_id": offer,
        "payload": payload,
    }


@pytest.mark.parametrize(
    ("lines", "clean", "not_prompted", "erased"),
    [
        ([decision(tag="prompted", permit=True, offer="a")], True, 0, 0),
        ([decision(tag="ambient", permit=False)], True, 0, 0),
        ([decision(tag="ambient", permit=True, offer="a")], False, 1, 0),
        ([decision(tag=None, permit=True, offer=None)], True, 0, 1),
    ],
)
def test_the_privacy_statement(
    lines: list[dict[str, Any]], clean: bool, not_prompted: int, erased: int
) -> None:
    report = build_report(lines, since=None, until=None, ambient_rows_with_text=0)
    assert report.clean is clean
    assert report.total.offers_not_prompted == not_prompted
    assert report.total.offers_erased == erased
    assert ("VIOLATION" in report.privacy_statement()) is not clean


def test_ambient_text_in_the_table_fails_the_statement() -> None:
    report = build_report([], since=None, until=None, ambient_rows_with_text=1)
    assert not report.clean
    assert report.privacy_statement().startswith(
        "privacy: 0 ambient turns seen, 1 stored with text"
    )
    assert report.privacy_statement().endswith(": VIOLATION")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--since", "last week"], "expected a date (2026-01-05) or a time"),
        (["--since", "2026-01-05T09:00:00"], "with its UTC offset"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_report_arguments_exit_2_saying_what_was_expected(
    args: list[str], fragment: str
) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["audit", "report", *args])
    assert status == 2
    assert fragment in err.getvalue()


def test_until_before_since_is_refused(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from askfirst.store.errors import BadValueError
    from askfirst.store.evidence import EvidenceFilter

    with pytest.raises(BadValueError, match="expected a time after since"):
        EvidenceFilter(
            since=datetime(2026, 2, 1, tzinfo=UTC), until=datetime(2026, 1, 1, tzinfo=UTC)
        )
