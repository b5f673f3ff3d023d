"""Store benchmark: decisions appended per second (SQLite, PostgreSQL) and the latency one turn's
store write adds to a request, against the same request without a store, in the same run.

    .venv/bin/python bench/store_bench.py [--turns 300] [--pg DSN] [--no-pg]

The "request" is the policy work of one prompted turn (detect the question, propose an offer,
decide) on the bundled example policy. "With store" adds the turn transaction: the per-user
lock, reading the user state, and writing utterance, decision and audit record atomically.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psycopg

from policy.config import EXAMPLE_POLICY_PATH, Policy, load_policy
from policy.detector import detect_question
from policy.engine import decide, propose_offer
from policy.values import (
    Decision,
    Evidence,
    Provenance,
    RequestFacts,
    UserState,
    Utterance,
    UtteranceTag,
)
from store.base import Store, open_store

TEXT = "what running shoes do you recommend"


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
        user_id=f"user-{n % 50}", session_id="bench-session", now=datetime.now(UTC)
    ) as tx:
        state = tx.user_state()
        utterance, decision = request(policy, n, state)
        tx.record(utterance=utterance, decision=decision, consent=state)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument(
        "--pg",
        default=os.environ.get("ASKFIRST_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    policy = load_policy(EXAMPLE_POLICY_PATH)
    anyone = UserState(user_id="user-0")
    for n in range(20):  # warm caches (locale files, regexes)
        request(policy, n, anyone)
    baseline = timed(args.turns, lambda n: request(policy, n, anyone))
    base = statistics.median(baseline)
    print(f"{args.turns} turns per back end; baseline = the same request without a store\n")
    print(
        f"{'':<26} {'turns/s':>10} {'median ms':>10} {'p95 ms':>10} {'added ms':>11} {'ratio':>9}"
    )
    print(row("no store (baseline)", baseline, base))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}", checkpoint_path=Path(tmp) / "cp")
        try:
            timed(20, lambda n: with_store(store, policy, -n - 1))
            print(
                row(
                    "SQLite (WAL, sync=FULL)",
                    timed(args.turns, lambda n: with_store(store, policy, n)),
                    base,
                )
            )
            assert store.audit_verify().ok
        finally:
            store.close()
    if not args.no_pg:
        schema = f"askfirst_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            sep = "&" if "?" in args.pg else "?"
            store = open_store(f"{args.pg}{sep}options={quote(f'-csearch_path={schema}')}")
            try:
                timed(20, lambda n: with_store(store, policy, -n - 1))
                print(
                    row(
                        "PostgreSQL (psycopg 3)",
                        timed(args.turns, lambda n: with_store(store, policy, n)),
                        base,
                    )
                )
                assert store.audit_verify().ok
            finally:
                store.close()
        finally:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print("\nturns/s = decisions appended per second by one process (each its own transaction)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
