"""Evidence reads on both back ends: export lines, report, subject access, kept policies."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.skill.cli.main import main
from askfirst.store.base import open_store
from askfirst.store.evidence import EvidenceFilter

SCENARIO = """\
name: a morning
start: 2026-03-02
devices: {kitchen: {household: flat-1}}
events:
  - {at: 3600, device: kitchen, user: ana, trigger: wake_word, say: "Alexa, any deals on coffee?"}
  - {at: 3700, device: kitchen, user: ana, say: "we are out of coffee again"}
  - {at: 3800, device: kitchen, user: ana, intent: DealQuestionIntent, slots: {product: tea}}
  - {at: 3900, device: kitchen, user: ana, decline: tea-green-leaf}
"""


def test_evidence_on_both_back_ends(store_url: str, tmp_path: Path) -> None:
    scenario = tmp_path / "morning.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    assert main(["simulate", str(scenario), "--quiet", "--store", store_url]) == 0
    store = open_store(store_url)
    try:
        out = io.StringIO()
        assert store.evidence_export(out, EvidenceFilter(kinds=("decision",))) == 3
        spoken, ambient, intent = (json.loads(line) for line in out.getvalue().splitlines())
        assert spoken["asked"]["transcript"] == "Alexa, any deals on coffee?"
        assert spoken["household"] == "flat-1" and spoken["captured_at"].startswith(
            "2026-03-02T01:00:00"
        )
        assert ambient["tag"] == "ambient" and ambient["asked"] is None
        assert intent["asked"]["intent"] == "DealQuestionIntent"
        assert intent["asked"]["slots"] == {"product": "tea"}
        report = store.audit_report(
            EvidenceFilter(
                since=datetime(2026, 3, 2, tzinfo=UTC), until=datetime(2026, 3, 3, tzinfo=UTC)
            )
        )
        assert report.total.offers == {"coffee-morning-roast": 1, "tea-green-leaf": 1}
        assert report.total.consent == {"declined": 1}
        assert report.clean and report.total.ambient_seen == 1
        held = store.subject_access("ana", now=datetime(2026, 3, 2, 2, tzinfo=UTC))
        assert held["counts"] == {
            "transcripts": 3,
            "transcripts_with_text": 2,
            "decisions": 3,
            "offers": 2,
            "declined": 1,
            "consent_records": 1,
        }
        assert held["caps"]["offers_today"] == 2
        policy = load_policy(EXAMPLE_POLICY_PATH)
        kept = store.policy_text(policy.hash[:12])
        assert kept is not None and kept.text == policy.canonical and kept.decisions == 3
        assert store.policy_hashes() == [policy.hash]
    finally:
        store.close()
