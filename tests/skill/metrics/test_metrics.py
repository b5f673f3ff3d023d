"""``/metrics``: after a scenario played over HTTP, the counters match the decisions made."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from askfirst.skill.api.app import create_app
from tests.skill.live import OPERATOR_TOKEN, TOKENS, live_settings, serving


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _by(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, label: str
) -> dict[str, float]:
    return {
        dict(labels)[label]: value
        for (sample, labels), value in samples.items()
        if sample == name and value
    }


def test_counters_match_the_decisions_a_scenario_made(tmp_path: Path) -> None:
    with serving(live_settings(tmp_path)) as live:
        report = live.play()
        response = requests.get(f"{live.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = _samples(response.text)
    results = [o.result for o in report.outcomes if o.result is not None]
    assert len(results) >= 8

    tags = Counter(r["tag"] for r in results)
    assert _by(samples, "askfirst_turns_total", "tag") == dict(tags)
    rules = Counter(r["decision"]["rule"] for r in results)
    assert _by(samples, "askfirst_decisions_total", "rule") == dict(rules)
    offers = Counter(r["offer"]["id"] for r in results if r["offer"])
    assert offers and _by(samples, "askfirst_offers_total", "catalog_id") == dict(offers)
    ambient_reasons = Counter(
        reason for r in results if r["tag"] == "ambient" for reason in r["tag_reasons"]
    )
    reasons = {
        dict(labels)["reason"]: value
        for (name, labels), value in samples.items()
        if name == "askfirst_tag_reasons_total" and dict(labels)["tag"] == "ambient"
    }
    assert reasons == dict(ambient_reasons)
    broadcasts = sum(1 for r in results if "broadcast" in r["tag_reasons"])
    # (3 in the showcase, unless a loaded machine delays one device's report past the hold)
    assert samples[("askfirst_broadcast_matches_total", ())] == broadcasts

    posted = samples[
        (
            "askfirst_http_request_seconds_count",
            (("method", "POST"), ("route", "/v1/utterances"), ("status", "200")),
        )
    ]
    assert posted == sum(1 for o in report.outcomes if o.event.say is not None)
    turns = _by(samples, "askfirst_store_seconds_count", "operation")
    assert turns["turn"] == len(results)
    assert not _by(samples, "askfirst_store_errors_total", "operation")


def test_no_personal_value_is_ever_a_label(tmp_path: Path) -> None:
    with serving(live_settings(tmp_path)) as live:
        report = live.play()
        text = requests.get(f"{live.url}/metrics", timeout=10).text
    secrets = {*TOKENS, OPERATOR_TOKEN, "anna", "ben"}
    secrets |= {str(o.event.say) for o in report.outcomes if o.event.say}
    secrets |= {str(o.result["decision"]["id"]) for o in report.outcomes if o.result}
    labels = {
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    }
    assert labels and not labels & secrets
    assert not any(device in labels for device in ("kitchen", "living-room", "bedroom"))


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    app = create_app(live_settings(tmp_path, metrics=False))
    try:
        response = app.test_client().get("/metrics")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"]
    finally:
        app.extensions["askfirst.pipeline"].close()


def test_serve_leaves_prometheus_unimported_until_a_worker_builds_its_app() -> None:
    """prometheus_client reads PROMETHEUS_MULTIPROC_DIR on import: the master must not import it."""
    code = "import sys, askfirst.skill.api.serve; print('prometheus_client' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_workers_share_their_counters_under_gunicorn(tmp_path: Path) -> None:
    """Two gunicorn workers: /metrics adds up the turns both of them decided."""
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "ASKFIRST_STORE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "ASKFIRST_DEVICE_TOKENS": '{"tok-kitchen": "kitchen"}',
        "ASKFIRST_BROADCAST_HOLD_SECONDS": "0",
    }
    shared = tmp_path / "prometheus"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"stale")  # a previous run's file is cleared
    env["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "askfirst.skill.cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--threads",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        total = 12
        from datetime import UTC, datetime

        for n in range(total):
            now = datetime.now(UTC).isoformat()
            body = {
                "text": "what running shoes do you recommend",
                "utterance_id": f"g-{n}",
                "capture": {
                    "trigger": "push_to_talk",
                    "start": now,
                    "end": now,
                },
            }
            # A new connection each time, so both workers get some of the turns.
            answer = requests.post(
                f"{base}/v1/utterances",
                json=body,
                timeout=10,
                headers={"Authorization": "Bearer tok-kitchen", "Connection": "close"},
            )
            assert answer.status_code == 200, answer.text
        samples = _samples(requests.get(f"{base}/metrics", timeout=10).text)
        assert _by(samples, "askfirst_turns_total", "tag") == {"prompted": total}
        worker_files = {p.name for p in shared.glob("counter_*.db")}
        assert len(worker_files) >= 2 and "counter_1.db" not in worker_files
    finally:
        server.terminate()
        server.wait(timeout=20)
