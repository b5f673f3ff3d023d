"""Two ``askfirst serve`` processes on one PostgreSQL database, driven over loopback HTTP.

They must keep one valid audit chain and consistent frequency caps under concurrent requests,
share each device's listening window, and fail closed (503, no offer) when the database is gone.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from askfirst.policy.config import EXAMPLE_POLICY_PATH, Caps, dump_policy, load_policy
from tests.e2e.conftest import (
    ASKFIRST,
    DEVICE,
    OTHER_TOKEN,
    TOKEN,
    Server,
    Servers,
    free_port,
    with_address,
)
from tests.e2e.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SESSION_CAP = 2
DAY_CAP = 3
QUESTIONS = (
    "what running shoes do you recommend",
    "are there any deals on coffee beans",
    "which headphones do you recommend",
    "do you have a deal on green tea",
)
SHOES = "what running shoes do you recommend"
CAP_RULE = "R9.frequency_cap"
TIMEOUT = 45


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("two-servers")
    example = load_policy(EXAMPLE_POLICY_PATH)
    policy = dataclasses.replace(example, caps=Caps(SESSION_CAP, DAY_CAP))
    policy_path = folder / "policy.toml"
    policy_path.write_text(dump_policy(policy), encoding="utf-8")
    assert load_policy(policy_path).caps == Caps(SESSION_CAP, DAY_CAP)
    started = Servers(folder, policy_path)
    try:
        yield started
    finally:
        problems = started.stop_all()
    assert not problems, "\n".join(problems)


@dataclass(frozen=True)
class Fleet:
    """The servers under test, all started at once."""

    a: Server
    b: Server
    """A and B: 2 workers x 4 threads each, on the same fresh database."""
    c: Server
    """1 worker on the same database, reached through ``proxy`` so a test can take it away."""
    proxy: TcpProxy
    down: Server
    """Started with a store URL pointing at a closed loopback port."""


@pytest.fixture(scope="module")
def fleet(servers: Servers, pg_database: str) -> Iterator[Fleet]:
    url = make_url(pg_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    try:
        proxied = with_address(pg_database, host="127.0.0.1", port=proxy.port)
        closed = with_address(pg_database, host="127.0.0.1", port=free_port())
        # 40 concurrent turns of one user queue on that user's lock: on a loaded machine the
        # queue outlasts the 2 s production deadline, which these tests are not about.
        a = servers.start("a", store_url=pg_database, store_timeout_seconds=15)
        b = servers.start("b", store_url=pg_database, store_timeout_seconds=15)
        c = servers.start("c", store_url=proxied, workers=1)
        down = servers.start("down", store_url=closed, workers=1, threads=2)
        for server in (a, b, c):
            server.wait_ready()
        yield Fleet(a=a, b=b, c=c, proxy=proxy, down=down)
    finally:
        proxy.cut()


def utterance(
    *,
    text: str,
    user_id: str | None,
    session_id: str | None,
    trigger: str = "push_to_talk",
    start: datetime | None = None,
) -> dict[str, Any]:
    start = start or datetime.now(UTC)
    body: dict[str, Any] = {
        "text": text,
        "capture": {
            "trigger": trigger,
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=1.5)).isoformat(),
        },
    }
    if user_id is not None:
        body["user_id"] = user_id
    if session_id is not None:
        body["session_id"] = session_id
    return body


def post(server: Server, path: str, body: dict[str, Any], token: str = TOKEN) -> requests.Response:
    return requests.post(
        f"{server.url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )


def post_ok(server: Server, body: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    response = post(server, "/v1/utterances", body, token)
    assert response.status_code == 200, f"{server.name}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


def concurrently(jobs: list[tuple[Server, dict[str, Any]]]) -> list[dict[str, Any]]:
    """POST every job at once from a thread pool; the results in job order."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(lambda job: post_ok(*job), jobs))


def askfirst(*commands: list[str]) -> list[tuple[int, str, str]]:
    """Run ``askfirst`` commands side by side; (status, stdout, stderr) for each."""
    processes = [
        subprocess.Popen(
            [str(ASKFIRST), *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=TIMEOUT)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:  # a timeout must not leave the others running, pipes open
            if process.poll() is None:
                process.kill()
            process.communicate()
    return results


def verify_and_export(store_url: str) -> tuple[int, list[dict[str, Any]]]:
    """``askfirst audit verify`` (must exit 0: the record count) and ``audit export``."""
    verify, export = askfirst(
        ["audit", "verify", "--store", store_url], ["audit", "export", "--store", store_url]
    )
    assert verify[0] == 0, verify[1] + verify[2]
    match = re.fullmatch(
        r"audit log OK: (\d+) records in \d+ shards, "
        r"(?:every record's MAC checked|no audit key: MACs not checked), head [0-9a-f]{64}\n",
        verify[1],
    )
    assert match, f"expected 'audit log OK: N records in S shards, ..., head H', got {verify[1]!r}"
    assert export[0] == 0, export[2]
    return int(match.group(1)), [json.loads(line) for line in export[1].splitlines()]


def verified_count(store_url: str) -> int:
    return verify_and_export(store_url)[0]


def test_one_valid_audit_chain_under_concurrent_requests(fleet: Fleet, pg_database: str) -> None:
    before = verified_count(pg_database)
    run = uuid.uuid4().hex[:8]
    jobs = []
    for i in range(60):  # 10 anonymous (one device), 50 from 10 users with 5 turns each
        user = None if i % 6 == 0 else f"chain-{run}-{i % 10}"
        body = utterance(
            text=QUESTIONS[i % len(QUESTIONS)], user_id=user, session_id=f"{run}-{i % 12}"
        )
        jobs.append((fleet.a if i % 2 else fleet.b, body))
    results = concurrently(jobs)

    decision_ids = {r["decision"]["id"] for r in results}
    assert len(decision_ids) == 60
    assert all(r["tag"] == "prompted" for r in results)
    count, records = verify_and_export(pg_database)
    assert count == len(records) == before + 60
    # Each shard (a user's records, issue 12) is one chain numbered 1, 2, ... without a gap.
    shards: dict[int, list[int]] = {}
    for r in records:
        shards.setdefault(r["shard"], []).append(r["seq"])
    for shard, seqs in shards.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"shard {shard}: {sorted(seqs)}"
    logged = {r["decision_id"] for r in records if r["kind"] == "decision"}
    assert decision_ids <= logged
    # One chain per shard, not a fork: verify checked every link; no two records share a head.
    assert len({r["hash"] for r in records}) == len(records)


@pytest.mark.parametrize(
    ("sessions", "cap"), [(1, SESSION_CAP), (40, DAY_CAP)], ids=["per-session", "per-day"]
)
def test_frequency_caps_hold_across_both_servers(fleet: Fleet, sessions: int, cap: int) -> None:
    user = f"cap-{uuid.uuid4().hex[:8]}"
    jobs = [
        (
            fleet.a if i % 2 else fleet.b,
            utterance(text=SHOES, user_id=user, session_id=f"{user}-{i % sessions}"),
        )
        for i in range(40)
    ]
    results = concurrently(jobs)

    permitted = [r for r in results if r["offer"] is not None]
    denied = [r for r in results if r["offer"] is None]
    assert len(permitted) == cap
    assert all(r["decision"]["permit"] for r in permitted)
    assert {r["decision"]["rule"] for r in denied} == {CAP_RULE}


def test_follow_up_works_whichever_server_receives_it(fleet: Fleet) -> None:
    a, b = fleet.a, fleet.b
    asked = datetime.now(UTC)
    response = post(a, "/v1/assistant-asked", {"prompt_ended_at": asked.isoformat()})
    assert response.status_code == 200, response.text
    assert response.json()["device_id"] == DEVICE
    user = f"follow-{uuid.uuid4().hex[:8]}"

    def follow_up(server: Server, *, token: str = TOKEN, text: str = SHOES) -> dict[str, Any]:
        body = utterance(
            text=text,
            user_id=user,
            session_id=user,
            trigger="follow_up",
            start=asked + timedelta(seconds=0.5),
        )
        return post_ok(server, body, token)

    # Another device's follow-up neither uses nor consumes this device's window. (Other words:
    # the same words from two devices at once would rightly be tagged a broadcast.)
    other = follow_up(a, token=OTHER_TOKEN, text="which headphones do you recommend")
    assert (other["tag"], other["offer"]) == ("ambient", None)
    first = follow_up(b)
    assert (first["tag"], first["tag_reasons"]) == ("prompted", ["follow_up_in_window"])
    assert first["offer"]["id"] == "shoes-trailblazer"
    second = follow_up(a)
    assert second["tag"] == "ambient"
    assert second["offer"] is None
    assert second["decision"]["permit"] is False


def test_a_server_whose_database_goes_away_fails_closed(fleet: Fleet, pg_database: str) -> None:
    c, proxy = fleet.c, fleet.proxy
    user = f"closed-{uuid.uuid4().hex[:8]}"
    before = verified_count(pg_database)
    proxy.cut()
    try:
        for i in range(3):
            response = post(
                c, "/v1/utterances", utterance(text=SHOES, user_id=user, session_id=f"{user}{i}")
            )
            assert response.status_code == 503, response.text
            assert response.headers["Content-Type"] == "application/json"
            assert response.json()["error"]["code"] == "store_unavailable"
            assert "offer" not in response.json()
        ready = requests.get(f"{c.url}/readyz", timeout=10)
        assert (ready.status_code, ready.json()["store"]) == (503, False)
    finally:
        proxy.start()
    # The database is back: the same server recovers without a restart.
    result = post_ok(c, utterance(text=SHOES, user_id=user, session_id=user))
    assert result["offer"]["id"] == "shoes-trailblazer"
    # The refused requests left nothing behind; the one served afterwards left its record.
    assert verified_count(pg_database) == before + 1


def test_a_server_started_without_its_database_answers_503(fleet: Fleet) -> None:
    # It boots and answers (a worker that failed to open its store used to stop gunicorn),
    # but it is not ready, and every turn fails closed until the database is reachable.
    fleet.down.wait_answering(seconds=15)
    ready = requests.get(f"{fleet.down.url}/readyz", timeout=TIMEOUT)
    assert (ready.status_code, ready.json()["store"]) == (503, False)
    response = post(
        fleet.down, "/v1/utterances", utterance(text=SHOES, user_id="u", session_id="s")
    )
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "store_unavailable"
    assert "offer" not in response.json()
