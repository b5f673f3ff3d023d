"""Store benchmark: decisions appended per second (SQLite, PostgreSQL) and the latency one turn's
store write adds to a request, against the same request without a store, in the same run.

    .venv/bin/python bench/store_bench.py [--turns 300] [--pg DSN] [--no-pg]
        [--processes 2] [--threads 8] [--concurrent-turns 400]

The "request" is the policy work of one prompted turn (detect the question, propose an offer,
decide) on the bundled example policy. "With store" adds the turn transaction: the per-user
lock, reading the user state, and writing utterance, decision and audit record atomically.

The concurrent part runs the same turns from P processes x T threads at once (as ``askfirst
serve``'s gunicorn workers and threads do), distinct users, and reports the total turns/s and
the p99 of one turn, then verifies the chain they wrote.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_stores import STORES, store_url

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, Policy, load_policy
from askfirst.policy.detector import detect_question
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.values import (
    Decision,
    Evidence,
    Provenance,
    RequestFacts,
    UserState,
    Utterance,
)
from askfirst.store.base import Store, StoreError, open_store

TEXT = "what running shoes do you recommend"
BENCH_KEY = b"store bench audit key, not secret"


def request(policy: Policy, n: int, user: UserState) -> tuple[Utterance, Decision]:
    """The policy work of one prompted turn, without any store."""
    uid = f"u{n}-{uuid.uuid4().hex[:8]}"
    utterance = Utterance(
        id=uid,
        text=TEXT,
        locale="en-US",
        tag=UtteranceTag.PROMPTED,
        tag_reasons=("wake_word_verified",),
        at=datetime.now(UTC),
        device_id="bench-device",
        user_id=user.user_id,
        session_id="bench-session",
    )
    question = detect_question(text=TEXT, utterance_id=uid, locale="en-US", catalog=policy.catalog)
    offer = propose_offer(question=question, policy=policy, user=user)
    decision = decide(
        decision_id=f"d-{uid}",
        utterance=utterance,
        question=question,
        offer=offer,
        evidence=(
            Evidence(id=f"{uid}/utterance", provenance=Provenance.PROMPTED, utterance_ids=(uid,)),
        ),
        user=user,
        request=RequestFacts(),
        policy=policy,
    )
    return utterance, decision


def with_store(store: Store, policy: Policy, n: int) -> None:
    with store.turn(
        user_id=f"user-{n % 997}", session_id="bench-session", now=datetime.now(UTC)
    ) as tx:
        state = tx.user_state()
        utterance, decision = request(policy, n, state)
        tx.record(utterance=utterance, decision=decision, consent=state)


def concurrent_worker(
    url: str, proc: int, threads: int, turns: int, ready: Any, go: Any, out: Any
) -> None:
    """One process: ``threads`` threads, each running ``turns`` turns once ``go`` is set; puts
    (latencies, first start, last end) on ``out``, times on the system-wide monotonic clock."""
    policy = load_policy(EXAMPLE_POLICY_PATH)
    store = open_store(url)
    with_store(store, policy, -proc - 1)  # connect and warm up before the clock starts
    samples: list[float] = []
    lock = threading.Lock()
    ready.put(proc)
    go.wait()
    began = time.monotonic()

    failed = [0]

    def run(t: int) -> None:
        mine: list[float] = []
        for n in range(turns):
            start = time.perf_counter()
            try:
                with_store(store, policy, (proc * 1000 + t) * 100000 + n)
            except StoreError:  # failed closed (e.g. locked beyond the timeout): counted
                with lock:
                    failed[0] += 1
            mine.append(time.perf_counter() - start)
        with lock:
            samples.extend(mine)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ended = time.monotonic()
    store.close()
    out.put((samples, began, ended, failed[0]))


def concurrent(
    url: str, *, processes: int, threads: int, turns: int
) -> tuple[float, float, int, int]:
    """(turns/s, p99 seconds, audit records, failed turns) for processes x threads at once."""
    open_store(url).close()  # migrate once, before the writers start
    context = multiprocessing.get_context("spawn")
    ready, go, queue = context.Queue(), context.Event(), context.Queue()
    procs = [
        context.Process(target=concurrent_worker, args=(url, p, threads, turns, ready, go, queue))
        for p in range(processes)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    go.set()
    samples: list[float] = []
    spans: list[tuple[float, float]] = []
    failures = 0
    for _ in procs:
        mine, began, ended, failed = queue.get(timeout=300)
        samples.extend(mine)
        spans.append((began, ended))
        failures += failed
    elapsed = max(e for _, e in spans) - min(b for b, _ in spans)
    for proc in procs:
        proc.join()
    store = open_store(url)
    try:
        report = store.audit_verify()
    finally:
        store.close()
    assert report.ok, report.problems
    assert report.count == processes * (threads * turns + 1) - failures, report.count
    done = len(samples) - failures
    return done / elapsed, sorted(samples)[int(0.99 * (len(samples) - 1))], report.count, failures


def timed(turns: int, work: Callable[[int], object]) -> list[float]:
    out = []
    for n in range(turns):
        start = time.perf_counter()
        work(n)
        out.append(time.perf_counter() - start)
    return out


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def row(name: str, samples: list[float], base: float) -> str:
    median = statistics.median(samples)
    rate = len(samples) / sum(samples)
    return (
        f"{name:<26} {rate:>10.0f} {median * 1e3:>10.3f} {p95(samples) * 1e3:>10.3f} "
        f"{(median - base) * 1e3:>11.3f} {median / base:>8.1f}x"
    )


def sequential(url: str, folder: Path, policy: Policy, turns: int) -> list[float]:
    """One thread, one turn after another: the latency a turn's store write adds."""
    store = open_store(
        url, checkpoint_dir=folder / uuid.uuid4().hex[:8], audit_key=BENCH_KEY, checkpoint_every=100
    )
    try:
        timed(20, lambda n: with_store(store, policy, -n - 1))
        samples = timed(turns, lambda n: with_store(store, policy, n))
        assert store.audit_verify().ok
    finally:
        store.close()
    return samples


STORE_LABELS = {
    "sqlite-full": "SQLite (WAL, sync=FULL)",
    "sqlite-normal": "SQLite (WAL, sync=NORMAL)",
    "postgresql": "PostgreSQL (psycopg 3)",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ASKFIRST_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--concurrent-turns", type=int, default=400, help="per process")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.stores.split(",") if k.strip()]
    policy = load_policy(EXAMPLE_POLICY_PATH)
    anyone = UserState(user_id="user-0")
    for n in range(20):  # warm caches (locale files, regexes)
        request(policy, n, anyone)
    baseline = timed(args.turns, lambda n: request(policy, n, anyone))
    base = statistics.median(baseline)
    print(
        f"{args.turns} turns per back end; baseline = the same request without a store; "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    print(
        f"{'':<26} {'turns/s':>10} {'median ms':>10} {'p95 ms':>10} {'added ms':>11} {'ratio':>9}"
    )
    print(row("no store (baseline)", baseline, base))
    together: list[str] = []
    per_thread = max(1, args.concurrent_turns // args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in kinds:
            with store_url(kind, folder, args.pg) as url:
                print(row(STORE_LABELS[kind], sequential(url, folder, policy, args.turns), base))
            with store_url(kind, folder, args.pg) as url:
                rate, p99, count, failures = concurrent(
                    url, processes=args.processes, threads=args.threads, turns=per_thread
                )
                together.append(
                    f"{STORE_LABELS[kind]:<26} {rate:>10.0f} {p99 * 1e3:>10.1f} {failures:>8d}   "
                    f"({count} records, chain valid)"
                )
    print("\nturns/s = decisions appended per second by one process (each its own transaction)")
    print(
        f"\n{args.processes} processes x {args.threads} threads at once, distinct users:\n"
        f"{'':<26} {'turns/s':>10} {'p99 ms':>10} {'failed':>8}"
    )
    for line in together:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
