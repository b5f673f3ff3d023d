"""The console through the real Flask app: sign-in, sessions, CSRF, pages and filters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from askfirst.skill.api.app import create_app
from askfirst.skill.simulator.runner import Report
from tests.skill.console.conftest import BASE, csrf_of, sign_in
from tests.skill.live import Live, live_settings


def test_the_session_cookie_is_secure_httponly_and_strict(client: FlaskClient) -> None:
    page = client.get("/console/login", base_url=BASE)
    answer = client.post(
        "/console/login",
        data={
            "token": "operator-7f3c9e51d2a84b06",
            "csrf_token": csrf_of(page.get_data(as_text=True)),
        },
        base_url=BASE,
    )
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/console" in cookie
    assert "operator-7f3c9e51d2a84b06" not in cookie


def test_signed_out_pages_send_to_sign_in_and_posts_are_refused(client: FlaskClient) -> None:
    answer = client.get("/console/turns?offer=yes", base_url=BASE)
    assert answer.status_code == 303
    assert answer.headers["Location"].startswith("/console/login?next=/console/turns")
    page = client.get("/console/login", base_url=BASE)
    token = csrf_of(page.get_data(as_text=True))
    refused = client.post("/console/playground", data={"csrf_token": token}, base_url=BASE)
    assert refused.status_code == 401
    assert "expected a signed-in operator" in refused.get_data(as_text=True)


def test_a_wrong_token_is_refused(client: FlaskClient) -> None:
    assert sign_in(client, "not-an-operator-token-at-all") == 401
    assert client.get("/console/turns", base_url=BASE).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_post_without_the_sessions_csrf_token_is_refused(
    operator: FlaskClient, token: str | None
) -> None:
    data = {"scenario": "name: x\nevents:\n  - {at: 0, say: hi}\n"}
    if token is not None:
        data["csrf_token"] = token
    answer = operator.post("/console/playground", data=data, base_url=BASE)
    assert answer.status_code == 403
    assert "csrf_token" in answer.get_data(as_text=True)


def test_a_cross_origin_post_is_refused_even_with_the_token(operator: FlaskClient) -> None:
    token = csrf_of(operator.get("/console/playground", base_url=BASE).get_data(as_text=True))
    answer = operator.post(
        "/console/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        base_url=BASE,
    )
    assert answer.status_code == 403


def test_sign_in_cannot_redirect_off_the_console(client: FlaskClient) -> None:
    page = client.get("/console/login?next=//evil.example/x", base_url=BASE)
    answer = client.post(
        "/console/login",
        data={
            "token": "operator-7f3c9e51d2a84b06",
            "next": "//evil.example/x",
            "csrf_token": csrf_of(page.get_data(as_text=True)),
        },
        base_url=BASE,
    )
    assert answer.headers["Location"] == "/console/turns"


def test_turns_list_every_decision_and_no_ambient_text(
    operator: FlaskClient, played: tuple[Live, Report]
) -> None:
    _, report = played
    html = operator.get("/console/turns", base_url=BASE).get_data(as_text=True)
    for outcome in report.outcomes:
        if outcome.result is None:
            continue
        assert outcome.result["decision"]["id"] in html
        if outcome.result["tag"] == "ambient":
            assert str(outcome.event.say) not in html
    assert "Content-Security-Policy" in operator.get("/console/turns", base_url=BASE).headers


def test_filters_narrow_the_list(operator: FlaskClient, played: tuple[Live, Report]) -> None:
    _, report = played
    results = [o.result for o in report.outcomes if o.result is not None]
    offered = {r["decision"]["id"] for r in results if r["offer"]}
    html = operator.get("/console/turns?offer=yes", base_url=BASE).get_data(as_text=True)
    assert offered and all(d in html for d in offered)
    assert not any(r["decision"]["id"] in html for r in results if not r["offer"])
    living = operator.get("/console/turns?device=living-room&tag=ambient", base_url=BASE)
    page = living.get_data(as_text=True)
    wanted = {
        o.result["decision"]["id"]
        for o in report.outcomes
        if o.result and o.event.device == "living-room" and o.result["tag"] == "ambient"
    }
    assert {r["decision"]["id"] for r in results if r["decision"]["id"] in page} == wanted
    bens = {o.result["decision"]["id"] for o in report.outcomes if o.result and o.user == "ben"}
    html = operator.get("/console/turns?user=ben", base_url=BASE).get_data(as_text=True)
    assert bens and all(d in html for d in bens)
    assert not any(r["decision"]["id"] in html for r in results if r["decision"]["id"] not in bens)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("offer=maybe", "offer: expected"),
        ("since=yesterday", "since: expected"),
        ("before=x", "before"),
    ],
)
def test_bad_filters_are_a_400_saying_what_was_expected(
    operator: FlaskClient, query: str, message: str
) -> None:
    answer = operator.get(f"/console/turns?{query}", base_url=BASE)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)


def test_a_turn_shows_its_rules_record_and_explanation(
    operator: FlaskClient, played: tuple[Live, Report]
) -> None:
    _, report = played
    result = next(o.result for o in report.outcomes if o.result and o.result["offer"])
    html = operator.get(f"/console/turns/{result['decision']['id']}", base_url=BASE).get_data(
        as_text=True
    )
    for reason in result["decision"]["results"]:
        assert reason["rule"] in html
    assert "record " in html and " of " in html
    assert "only because you asked" in html  # policy.explain's words
    assert operator.get("/console/turns/nope", base_url=BASE).status_code == 404


def test_audit_page_verifies_and_exports(
    operator: FlaskClient, played: tuple[Live, Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfirst.store import audit

    monkeypatch.setattr(audit, "PROGRESS_EVERY", 3)
    records = played[0].app.extensions["askfirst.pipeline"].store.log_summary().records
    page = operator.get("/console/audit", base_url=BASE).get_data(as_text=True)
    assert "Records" in page and "Last checkpoint" in page
    verified = operator.post(
        "/console/audit/verify", data={"csrf_token": csrf_of(page)}, base_url=BASE
    ).get_data(as_text=True)
    assert "The log verifies" in verified
    steps = re.findall(r"(\d+) of (\d+) records checked", verified)
    expected = [*range(3, records + 1, 3), records]
    assert [int(done) for done, _ in steps] == expected
    assert {int(total) for _, total in steps} == {records}
    export = operator.get("/console/audit/export.jsonl", base_url=BASE)
    lines = export.get_data(as_text=True).splitlines()
    assert lines and all(json.loads(line)["hash"] for line in lines)


def test_playground_runs_a_scenario_and_marks_failures(operator: FlaskClient) -> None:
    token = csrf_of(operator.get("/console/playground", base_url=BASE).get_data(as_text=True))
    scenario = (
        "name: two checks\nevents:\n"
        "  - {at: 0, trigger: wake_word, say: 'Alexa, what running shoes do you recommend?',"
        " expect: {offer: true}}\n"
        "  - {at: 5, say: 'I need coffee', expect: {offer: true}}\n"
    )
    answer = operator.post(
        "/console/playground", data={"csrf_token": token, "scenario": scenario}, base_url=BASE
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "1 expectation failed" in html and "expected an offer" in html
    assert html.count('class="event failed"') == 1 and html.count('class="event held"') == 1


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("name: x\npolicy: /etc/passwd\nevents:\n  - {at: 0, say: hi}\n", "policy: expected no"),
        ("name: x\nevents:\n  - {at: 0, audio: /etc/passwd}\n", "audio"),
        ('{"at": 0, "say": "hi"}\n{"at": "soon"}\n', "line 2"),
        ("", "got nothing"),
    ],
)
def test_playground_refuses_what_it_cannot_run(
    operator: FlaskClient, scenario: str, message: str
) -> None:
    token = csrf_of(operator.get("/console/playground", base_url=BASE).get_data(as_text=True))
    answer = operator.post(
        "/console/playground", data={"csrf_token": token, "scenario": scenario}, base_url=BASE
    )
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)


def test_without_tokens_there_is_no_console(tmp_path: Path) -> None:
    app = create_app(live_settings(tmp_path, console_tokens=[]))
    try:
        assert app.test_client().get("/console/login").status_code == 404
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_short_operator_tokens_are_refused_without_echoing_them(tmp_path: Path) -> None:
    from askfirst.skill.settings import SettingsError

    with pytest.raises(SettingsError) as caught:
        live_settings(tmp_path, console_tokens=["short-secret"])
    assert "at least 16 characters" in str(caught.value)
    assert "short-secret" not in str(caught.value)


def test_a_devices_household_is_shown_with_it(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    settings = live_settings(
        tmp_path, device_tokens={"tok-flat": {"device": "hall", "household": "flat-12"}}
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        now = datetime.now(UTC).isoformat()
        answer = client.post(
            "/v1/utterances",
            json={
                "text": "what running shoes do you recommend",
                "capture": {"trigger": "push_to_talk", "start": now, "end": now},
            },
            headers={"Authorization": "Bearer tok-flat"},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert sign_in(client) == 303
        html = client.get("/console/turns", base_url=BASE).get_data(as_text=True)
        assert "hall" in html and "· flat-12" in html
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_pages_go_back_in_time_and_forward_to_the_newest(
    operator: FlaskClient, played: tuple[Live, Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfirst.skill.console import views

    _, report = played
    ids = [o.result["decision"]["id"] for o in report.outcomes if o.result]
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    seen: list[str] = []
    url = "/console/turns?tag=&offer="
    for _ in range(5):
        html = operator.get(url, base_url=BASE).get_data(as_text=True)
        seen += [d for d in ids if d in html]
        older = re.search(r'<a href="([^"]+)" rel="next">', html)
        if older is None:
            break
        url = older.group(1).replace("&amp;", "&")
        assert "before=" in url
    assert sorted(seen) == sorted(ids)  # every turn once, on some page
    assert "← Newest" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("since=2999-01-01", 0),
        ("until=2000-01-01T00:00", 0),
        ("since=2000-01-01&until=2999-12-31", None),
    ],
)
def test_a_time_range_selects_turns(
    operator: FlaskClient, played: tuple[Live, Report], query: str, expected: int | None
) -> None:
    _, report = played
    ids = [o.result["decision"]["id"] for o in report.outcomes if o.result]
    html = operator.get(f"/console/turns?{query}", base_url=BASE).get_data(as_text=True)
    shown = sum(1 for d in ids if d in html)
    assert shown == (len(ids) if expected is None else expected)


def test_a_large_export_is_spooled_to_disk_and_sent_whole(
    operator: FlaskClient, played: tuple[Live, Report], monkeypatch: pytest.MonkeyPatch
) -> None:
    from askfirst.skill.console import views

    live, _ = played
    monkeypatch.setattr(views, "EXPORT_IN_MEMORY", 16)
    lines = operator.get("/console/audit/export.jsonl", base_url=BASE).get_data(as_text=True)
    records = [json.loads(line) for line in lines.splitlines()]
    summary = live.app.extensions["askfirst.pipeline"].store.log_summary()
    by_shard: dict[int, list[int]] = {}
    for record in records:
        by_shard.setdefault(record["shard"], []).append(record["seq"])
    assert len(records) == summary.records  # every record, each shard's chain whole
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_shard.values())


def test_serve_warns_when_instances_would_not_share_console_sessions(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from askfirst.skill.api.serve import check_settings

    monkeypatch.setenv("ASKFIRST_STORE_URL", "postgresql://askfirst@db.invalid/askfirst")
    monkeypatch.setenv("ASKFIRST_CONSOLE_TOKENS", '["operator-7f3c9e51d2a84b06"]')
    monkeypatch.setenv("ASKFIRST_BROADCAST_KEY", "k" * 32)
    check_settings(None)
    assert "ASKFIRST_CONSOLE_SECRET is not set" in caplog.text
    caplog.clear()
    monkeypatch.setenv("ASKFIRST_CONSOLE_SECRET", "s" * 32)
    check_settings(None)
    assert "CONSOLE_SECRET" not in caplog.text
