"""A month of traffic through the simulator, then every question an auditor asks, one command
each, checked against what the simulator reported for every event it played."""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.skill.cli.main import main
from tests.compliance.month import CHILD, HOUSEHOLDS, month_scenarios

HERE = Path(__file__).parent
POLICY_V2 = HERE / "data" / "policy-v2.toml"
STARTS = ("2026-01-05", "2026-01-20")


@dataclass(frozen=True)
class Month:
    """The store the month was played into and the simulator's own account of every event."""

    store: str
    checkpoint: Path
    events: list[dict[str, Any]]
    """simulate --json lines of both halves, each with ``part`` (0 or 1) and ``day`` added."""

    @property
    def turns(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["decision"] is not None]


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``askfirst ARGS`` in this process; (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    directory = tmp_path_factory.mktemp("month")
    parts = month_scenarios(directory, policies=(EXAMPLE_POLICY_PATH.resolve(), POLICY_V2))
    store = f"sqlite:///{directory / 'month.db'}?synchronous=normal"
    checkpoint = directory / "checkpoints"
    key = directory / "audit.key"
    events: list[dict[str, Any]] = []
    for part, (scenario, start) in enumerate(zip(parts, STARTS, strict=True)):
        status, out, err = cli(
            "simulate", str(scenario), "--json", "--store", store, "--start", start,
            "--checkpoints", str(checkpoint), "--key-file", str(key), "--checkpoint-every", "100",
        )  # fmt: skip
        assert status == 0, err
        for line in out.splitlines():
            event = json.loads(line)
            event.update(part=part, day=int(event["at"] // 86400) + 15 * part)
            events.append(event)
    yield Month(store=store, checkpoint=checkpoint, events=events)


def report(month: Month, *extra: str) -> dict[str, Any]:
    status, out, err = cli("audit", "report", "--store", month.store, "--format", "json", *extra)
    assert status == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def export(month: Month, *extra: str) -> list[dict[str, Any]]:
    status, out, err = cli("audit", "export", "--store", month.store, *extra)
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_the_month_is_what_the_issue_describes(month: Month) -> None:
    users = {e["user"] for e in month.events}
    devices = {e["device"] for e in month.events}
    assert len(users) == 9 and len(devices) == 6 and len(HOUSEHOLDS) == 4
    assert {e["day"] for e in month.events} == set(range(30))
    assert {e["decision"]["policy_hash"] for e in month.turns} == {
        load_policy(EXAMPLE_POLICY_PATH).hash,
        load_policy(POLICY_V2).hash,
    }
    assert len(month.events) > 600


def test_counts_per_day_and_in_total(month: Month) -> None:
    got = report(month, "--since", "2026-01-05", "--until", "2026-02-04")
    turns = month.turns
    total = got["total"]
    assert total["turns"] == len(turns)
    assert total["turns_by_tag"] == dict(Counter(e["tag"] for e in turns))
    assert total["offers"] == dict(Counter(e["offer"]["id"] for e in turns if e["offer"]))
    assert total["denials"] == dict(
        Counter(e["decision"]["rule"] for e in turns if not e["decision"]["permit"])
    )
    reasons = Counter(f"{e['tag']}:{r}" for e in turns for r in e["tag_reasons"])
    assert total["turns_by_reason"] == dict(reasons)
    commands = Counter(e["command"] for e in turns if e["command"])
    declines = sum(1 for e in month.events if e["kind"] == "decline")
    assert total["consent"] == {
        "opt_out": commands["opt_out"],
        "opt_in": commands["opt_in"],
        "declined": declines,
        "child_profile_on": 2,  # each half of the month sets the child's profile
    }
    assert commands == {"opt_out": 1, "opt_in": 1} and declines == 2
    assert total["policies"] == dict(Counter(e["decision"]["policy_hash"] for e in turns))
    assert len(got["days"]) == 30
    for day, tally in got["days"].items():
        index = (date.fromisoformat(day) - date(2026, 1, 5)).days
        expected = [e for e in turns if e["day"] == index]
        assert tally["turns"] == len(expected), day
        assert sum(tally["offers"].values()) == sum(1 for e in expected if e["offer"]), day
    privacy = got["privacy"]
    ambient = sum(1 for e in turns if e["tag"] == "ambient")
    assert privacy["ambient_turns_seen"] == ambient > 100
    assert privacy["ambient_turns_stored_with_text"] == 0
    assert privacy["offers_not_prompted"] == 0
    assert privacy["statement"] == (
        f"privacy: {ambient} ambient turns seen, 0 stored with text (must be 0), 0 offers "
        "whose evidence was not prompted (must be 0): as required"
    )


def test_one_day_by_csv(month: Month) -> None:
    status, out, _ = cli(
        "audit", "report", "--store", month.store, "--format", "csv",
        "--since", "2026-01-10", "--until", "2026-01-11",
    )  # fmt: skip
    assert status == 0
    rows = [line.split(",") for line in out.splitlines()]
    assert rows[0] == ["day", "section", "key", "count"]
    on_day = [e for e in month.turns if e["day"] == 5]
    assert ["total", "turns", "", str(len(on_day))] in rows
    assert ["2026-01-10", "consent", "opt_out", "1"] in rows  # ben opted out on day 5


def test_every_offer_in_a_period_and_the_question_it_answered(month: Month) -> None:
    lines = export(month, "--offers-only", "--since", "2026-01-20", "--until", "2026-01-27")
    expected = [e for e in month.turns if e["offer"] and 15 <= e["day"] < 22]
    assert len(lines) == len(expected) > 0
    by_id = {e["decision"]["id"]: e for e in expected}
    for line in lines:
        event = by_id[line["decision_id"]]
        asked = line["asked"]
        assert line["permit"] is True and line["offer_id"] == event["offer"]["id"]
        assert line["captured_at"] <= line["recorded_at"]
        if event["kind"] == "intent":
            assert asked["intent"] == "DealQuestionIntent"
            assert asked["slots"] == {"product": event["question"]["topic"]} or asked["slots"]
        else:
            assert asked["transcript"] == event["transcript"]
            assert asked["transcript_retained"] is True


def test_export_filters(month: Month) -> None:
    h2_devices = set(HOUSEHOLDS["h2"]["devices"])
    h2 = export(month, "--household", "h2")
    # Spoken turns carry their device's household; an Alexa request knows no household.
    spoken = [e for e in month.turns if e["kind"] == "say"]
    assert len(h2) == sum(1 for e in spoken if e["device"] in h2_devices)
    assert {line["household"] for line in h2} == {"h2"}
    carl = export(month, "--user", "carl", "--kind", "decision")
    assert len(carl) == sum(1 for e in month.turns if e["user"] == "carl")
    den = export(month, "--device", "h4-den")
    assert len(den) == sum(1 for e in month.turns if e["device"] == "h4-den")
    consent = export(month, "--rule", "R6.consent")
    assert len(consent) == sum(1 for e in month.turns if e["decision"]["rule"] == "R6.consent")
    assert {line["user_id"] for line in consent} == {"ben"}
    opt = export(month, "--kind", "opt_out")
    assert [line["payload"]["opt_out"] for line in opt] == [True, False]
    # Capture time and record time are both kept: a turn heard just before midnight is
    # recorded after its capture ends.
    by_capture = export(month, "--by", "captured", "--since", "2026-01-06", "--until", "2026-01-07")
    assert by_capture and all(line["captured_at"].startswith("2026-01-06") for line in by_capture)


def test_everything_held_about_a_user(month: Month, tmp_path: Path) -> None:
    out = tmp_path / "carl.json"
    status, _, err = cli("user", "export", "carl", "--store", month.store, "--out", str(out))
    assert status == 0, err
    held = json.loads(out.read_text("utf-8"))
    mine = [e for e in month.turns if e["user"] == "carl"]
    assert held["user_id"] == "carl"
    assert len(held["decisions"]) == len(mine)
    assert [d["decision_id"] for d in held["decisions"]] == [e["decision"]["id"] for e in mine]
    assert [d["offer_id"] if d["permit"] else None for d in held["decisions"]] == [
        e["offer"]["id"] if e["offer"] else None for e in mine
    ]
    assert held["declined"][0]["offer_id"] == "coffee-morning-roast"
    prompted_text = [t for t in held["transcripts"] if t["text"] is not None]
    assert {t["tag"] for t in prompted_text} == {"prompted"}
    assert all(t["text"] is None for t in held["transcripts"] if t["tag"] == "ambient")
    assert held["consent"]["opted_out"] is False
    assert held["counts"]["declined"] == 1
    assert "exported user 'carl'" in err
    child = json.loads(cli("user", "export", CHILD, "--store", month.store)[1])
    assert child["consent"]["child_profile"] is True
    assert child["counts"]["offers"] == 0


def test_which_policy_was_in_force(month: Month) -> None:
    v1, v2 = load_policy(EXAMPLE_POLICY_PATH), load_policy(POLICY_V2)
    got = report(month)
    assert set(got["total"]["policies"]) == {v1.hash, v2.hash}
    assert set(got["days"]["2026-01-19"]["policies"]) == {v1.hash}
    assert set(got["days"]["2026-01-20"]["policies"]) == {v2.hash}
    status, out, _ = cli("policy", "show", v2.hash, "--store", month.store)
    assert status == 0
    assert out.startswith(f"# policy {v2.hash}\n# first decision ")
    assert "per_user_per_day = 2" in out
    assert "2026-01-20" in out
    status, out, _ = cli("policy", "show", v2.hash[:12], "--store", month.store, "--json")
    assert status == 0 and out == v2.canonical + "\n"
    status, out, _ = cli("policy", "diff", v1.hash, v2.hash, "--store", month.store)
    assert status == 1
    assert out.splitlines()[2:] == [
        "catalog.coffee-morning-roast.pitch: 'Morning Roast has a deal on its fresh house "
        "blend this week.' -> 'Morning Roast has a new single-origin blend on offer this week.'",
        "catalog.headphones-quietwave.disclosure: 'Sponsored by QuietWave.' -> "
        "'Paid promotion by QuietWave.'",
        "catalog.tea-green-leaf.synonyms: + 'matcha'",
        "caps.per_user_per_day: 3 -> 2",
    ]
    # A file and a hash compare the same way.
    status, out, _ = cli("policy", "diff", str(POLICY_V2), v2.hash, "--store", month.store)
    assert status == 0 and out.endswith("no changes\n")


def test_explain_shows_the_question_as_asked(month: Month) -> None:
    spoken = next(e for e in month.turns if e["offer"] and e["kind"] == "say")
    status, out, _ = cli("explain", spoken["decision"]["id"], "--store", month.store)
    assert status == 0
    assert f"Asked: transcript {spoken['transcript']!r} (heard on " in out
    assert "in household 'h" in out
    intent = next(e for e in month.turns if e["kind"] == "intent")
    status, out, _ = cli("explain", intent["decision"]["id"], "--store", month.store)
    assert status == 0
    assert "Asked: Alexa intent DealQuestionIntent with product=" in out


def test_an_erasure_with_its_reference_is_counted_and_the_chain_verifies(month: Month) -> None:
    """Last in this module: it erases a user from the month's store."""
    before = len(export(month, "--user", "eve"))
    status, out, _ = cli("user", "forget", "eve", "--reference", "TICKET-7", "--store", month.store)
    assert status == 0, out
    assert export(month, "--user", "eve") == []
    held = json.loads(cli("user", "export", "eve", "--store", month.store)[1])
    assert held["decisions"] == [] and held["transcripts"] == [] and held["counts"]["offers"] == 0
    total = report(month)["total"]
    assert total["erasures"] == 1
    assert total["erased_records"] == before
    assert total["erasure_references"] == ["TICKET-7"]
    assert total["turns"] == len(month.turns)  # erased decisions still count, by their chain
    status, out, err = cli("audit", "verify", "--store", month.store)
    assert status == 0, err
