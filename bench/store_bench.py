"""Store benchmark: decisions appended per second (SQLite, PostgreSQL) and the latency one turn's
store write adds to a request, against the same request without a store, in the same run.

    .venv/bin/python bench/store_bench.py [--turns 300] [--pg DSN] [--stores ...]
        [--processes 2] [--threads 8] [--concurrent-turns 400] [--no-shards]
        [--scale 1000000 [--only-scale]]

The "request" is the policy work of one prompted turn (detect the question, propose an offer,
decide) on the bundled example policy. "With store" adds the turn transaction: the per-user
lock, reading the user state, and writing utterance, decision and audit record atomically.

The concurrent part runs the same turns from P processes x T threads at once (as ``askfirst
serve``'s gunicorn workers and threads do), distinct users, and reports the total turns/s and
the p99 of one turn, then verifies the chain they wrote. On PostgreSQL it runs twice in the
same run: on a log of one shard (one chain, one batch lock: the store before sharding) and on
the default 16 shards, and prints the ratio.

``--scale N`` times a turn's store calls with 10,000, 100,000, ... up to N decisions already
stored, interleaved in one run (``bench/store_scale.py``): the duplicate check, the caps, the
append, the capture prints, checkpoints and the retention purge must not grow with the table.
``--only-scale`` skips the other parts.
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
from store_scale import HEADER, filled_stores, interleaved, report

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
from askfirst.store.schema import DEFAULT_SHARDS

TEXT = "what running shoes do you recommend"
BENCH_KEY = b"store bench audit key, not secret"


def request(
    policy: Policy, n: int, user: UserState, uid: str | None = None
) -> tuple[Utterance, Decision]:
    """The policy work of one prompted turn, without any store."""
    uid = uid or f"u{n}-{uuid.uuid4().hex[:8]}"
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
    url: str, *, processes: int, threads: int, turns: int, shards: int = DEFAULT_SHARDS
) -> tuple[float, float, int, int]:
    """(turns/s, p99 seconds, audit records, failed turns) for processes x threads at once."""
    open_store(url, shards=shards).close()  # create with its shards, before the writers start
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


def scale_sizes(largest: int) -> tuple[int, ...]:
    """10,000, then every power of ten below ``largest``, then ``largest``."""
    sizes, size = [10_000], 100_000
    while size < largest:
        sizes.append(size)
        size *= 10
    return tuple(sorted({*sizes, max(largest, 10_000)}))


def decider(policy: Policy) -> Callable[[str, UserState], tuple[Utterance, Decision]]:
    """The policy work of a turn for a given utterance id (``store_scale.device_turn``)."""
    return lambda uid, state: request(policy, 0, state, uid)


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
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        metavar="N",
        help="also time a turn's store calls with 10,000, 100,000, ... N decisions stored, "
        "interleaved in one run (bench/store_scale.py)",
    )
    parser.add_argument(
        "--no-shards", action="store_true", help="skip the one-shard PostgreSQL baseline"
    )
    parser.add_argument("--skip-sequential", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="time only the --scale part")
    parser.add_argument(
        "--pg-options",
        default="",
        metavar="OPTS",
        help="extra PostgreSQL session settings, e.g. '-csynchronous_commit=off' to time the "
        "queries without the commit's disk wait",
    )
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
        scale_lines: list[str] = []
        for kind in kinds:
            if not args.skip_sequential and not args.only_scale:
                with store_url(kind, folder, args.pg) as url:
                    samples = sequential(url, folder, policy, args.turns)
                    print(row(STORE_LABELS[kind], samples, base))
            if args.scale:
                sizes = scale_sizes(args.scale)
                with filled_stores(kind, folder, args.pg, sizes, args.pg_options) as sized:
                    interleaved(sized, decider(policy), turns=args.turns)
                    scale_lines.extend(report(STORE_LABELS[kind], sized))
            if args.only_scale:
                continue
            variants = [DEFAULT_SHARDS]
            if kind == "postgresql" and not args.no_shards:
                variants = [1, DEFAULT_SHARDS]
            rates = {}
            for shards in variants:
                with store_url(kind, folder, args.pg) as url:
                    rate, p99, count, failures = concurrent(
                        url,
                        processes=args.processes,
                        threads=args.threads,
                        turns=per_thread,
                        shards=shards,
                    )
                rates[shards] = rate
                label = f"{STORE_LABELS[kind]}, {shards} shard{'s' if shards > 1 else ''}"
                together.append(
                    f"{label:<36} {rate:>10.0f} {p99 * 1e3:>10.1f} {failures:>8d}   "
                    f"({count} records, chain valid)"
                )
            if len(rates) == 2:
                together.append(
                    f"{'':<36} ratio {rates[DEFAULT_SHARDS] / rates[1]:.2f}x "
                    f"(and {rates[DEFAULT_SHARDS] / 439:.2f}x the 439 turns/s the probe measured)"
                )
    if scale_lines:
        load = os.getloadavg()[0]
        print(f"\nstore calls of one turn by decisions stored (load average {load:.2f})")
        print(HEADER)
        for line in scale_lines:
            print(line)
    if args.only_scale:
        return 0
    print("\nturns/s = decisions appended per second by one process (each its own transaction)")
    print(
        f"\n{args.processes} processes x {args.threads} threads at once, distinct users:\n"
        f"{'':<36} {'turns/s':>10} {'p99 ms':>10} {'failed':>8}"
    )
    for line in together:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
