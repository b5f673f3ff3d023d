"""A turn's store cost with 10 k, 100 k and 1 M decisions already stored (``store_bench --scale``).

Each size gets its own database, filled once per run with bulk SQL (not through turns): decision
index rows, audit records and utterances. One in 90 was made today, since midnight UTC, by
other users (a day's traffic under the 90-day decision retention); the rest lie in the 89 days
before and belong to the 997 users the timed turns speak for, so a user's history grows with
the table as it would in service.
The timed turn makes every store call a device-API wake-word turn makes (the pre-check for a
retry, registering the capture's prints, reading the other devices' prints, the turn
transaction with its duplicate check, user state, record and marking the capture answered),
with keyed checkpoints every 100 records of a shard.

The sizes are timed in interleaved rounds (a few turns on each store in turn, the order
rotating), so a change in the machine's load during the run falls on every size alike: the
ratios are measured in one run against the 10 k store of the same run. The "why" look-up
(``last_decision``) and the retention purge are timed the same way, as rows of their own.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_stores import store_url
from sqlalchemy import text

from askfirst.core.peers import PeerCapture
from askfirst.policy.values import Decision, UserState, Utterance
from askfirst.store.base import Store, open_store
from askfirst.store.chain import digest_of
from askfirst.store.sql import SqlStore

FILL = {
    "postgresql": """
    WITH n AS (SELECT g FROM generate_series(1, :rows) AS g)
    INSERT INTO {table} {columns} SELECT {values} FROM n WHERE {which}
    """,
    "sqlite": """
    WITH RECURSIVE n(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM n WHERE g < :rows)
    INSERT INTO {table} {columns} SELECT {values} FROM n WHERE {which}
    """,
}
AT = {
    "postgresql": "to_char(CAST(:base AS timestamp) + make_interval(secs => {seconds}), "
    "'YYYY-MM-DD\"T\"HH24:MI:SS') || '.000000+00:00'",
    "sqlite": "strftime('%Y-%m-%dT%H:%M:%S', :base, '+' || ({seconds}) || ' seconds') "
    "|| '.000000+00:00'",
}
TODAY = 90
"""One filled decision in this many was made today (by another user)."""
FILL_SHARD = 999_999
"""The filled audit records sit in a shard no writer uses, so the live chains stay valid."""
USERS = 997
"""Users of the older filled rows and of the timed turns alike."""
SPAN = timedelta(days=89)
"""The older filled decisions lie within this span before today's midnight: inside the 90-day
decision retention, so a purge keeps them."""
FILL_PAYLOAD = "{}"


def fill(url: str, rows: int) -> None:
    """``rows`` decisions (index rows and audit records) and their utterances, by bulk SQL."""
    store = open_store(url)
    assert isinstance(store, SqlStore)
    dialect = store.dialect
    g = "CAST(g AS TEXT)"
    today = f"g % {TODAY} = 0"
    user = (
        f"CASE WHEN {today} THEN 'other-' || CAST(g % 5000 AS TEXT) "
        f"ELSE 'user-' || CAST(g % {USERS} AS TEXT) END"
    )
    at = (
        f"CASE WHEN {today} THEN {AT[dialect].format(seconds='(g / 90) % :today_seconds')} "
        f"ELSE {AT[dialect].format(seconds='(g - 1) * :step').replace(':base', ':older')} END"
    ).replace(":base", ":midnight")
    tables = {
        "decisions": (
            "(id, shard, seq, user_id, session_id, utterance_id, at, permit, has_offer)",
            f"'fill-d' || {g}, {FILL_SHARD}, g, {user}, 'fill-s' || CAST(g / 40 AS TEXT), "
            f"'fill-u' || {g}, {at}, g % 3 = 0, g % 3 = 0",
        ),
        "audit_log": (
            "(shard, seq, at, kind, digest, decision_id, permit, rule, policy_hash, hash, "
            "payload, user_id)",
            f"{FILL_SHARD}, g, {at}, 'decision', '{digest_of(FILL_PAYLOAD)}', 'fill-d' || {g}, "
            f"g % 3 = 0, 'permit', 'p', 'h', '{FILL_PAYLOAD}', {user}",
        ),
        "utterances": (
            "(id, user_id, device_id, at, locale, tag, tag_reasons, text, expires_at)",
            f"'fill-u' || {g}, {user}, 'dev', {at}, 'en-US', 'prompted', '[]', 'filler text', "
            "'2999-01-01T00:00:00.000000+00:00'",
        ),
    }
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    params = {
        "rows": rows,
        "midnight": midnight.strftime("%Y-%m-%d %H:%M:%S"),
        "today_seconds": max(1, int((now - midnight).total_seconds()) - 60),
        "older": (midnight - SPAN).strftime("%Y-%m-%d %H:%M:%S"),
        "step": max(1, int(SPAN.total_seconds()) // rows),
    }
    try:
        # The older rows, analysed (as autovacuum and SQLite's checkpoints would have done by
        # now), then today's, not yet in the statistics: a table this big is analysed again
        # only after a tenth of it changed, days of traffic.
        for which in (f"NOT ({today})", today):
            with store._engine.begin() as conn:
                if dialect == "postgresql":  # a bulk load, not a turn: no per-call deadline
                    conn.execute(text("SET LOCAL statement_timeout = 0"))
                for table, (columns, values) in tables.items():
                    sql = FILL[dialect].format(
                        table=table, columns=columns, values=values, which=which
                    )
                    conn.execute(text(sql), params)
            if which == today:
                break
            with store._engine.connect() as conn:
                dbapi = conn.connection.dbapi_connection
                assert dbapi is not None
                if dialect == "sqlite":
                    dbapi.execute("ANALYZE")
                    dbapi.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                else:
                    dbapi.autocommit = True
                    dbapi.execute("SET statement_timeout = 0")
                    dbapi.execute("VACUUM ANALYZE")
                    dbapi.execute("RESET statement_timeout")
    finally:
        store.close()


@dataclass
class Sized:
    """One filled store and what was timed on it."""

    rows: int
    store: Store
    checkpoints: Path
    filled: float
    turns: list[float] = field(default_factory=list)
    why: list[float] = field(default_factory=list)
    purge: list[float] = field(default_factory=list)


BENCH_KEY = b"store bench audit key, not secret"
Decide = Callable[[str, UserState], tuple[Utterance, Decision]]
"""The policy work of a turn: its utterance and decision, for an utterance id and user state."""


def device_turn(store: Store, decide: Decide, n: int, tag: str) -> None:
    """The store calls of one device-API wake-word text turn with an ``utterance_id``."""
    now = datetime.now(UTC)
    device = f"dev-{n % 7}"
    utterance_id = f"{device}/{tag}-{n}"
    store.decision_for(utterance_id)  # the retry pre-check, before anything is noted
    store.note_capture(
        PeerCapture(
            device_id=device,
            household=f"home-{n % 7}",
            utterance_id=utterance_id,
            at=now,
            text_print=b"\x00" * 96,
            audio_print=b"",
            level=None,
        ),
        now=now,
    )
    store.peers(around=now, seconds=1.5, exclude_device=device)
    user = f"user-{n % USERS}"
    with store.turn(user_id=user, session_id=f"bench-{tag}-{n % 50}", now=now) as tx:
        tx.decision_for(utterance_id)
        state = tx.user_state()
        utterance, decision = decide(utterance_id, state)
        tx.record(utterance=utterance, decision=decision, consent=state)
        tx.mark_answered(device_id=device, utterance_id=utterance_id)


@contextmanager
def filled_stores(
    kind: str, folder: Path, pg: str, sizes: tuple[int, ...], pg_options: str
) -> Iterator[list[Sized]]:
    """One filled, open store per size (closed and dropped afterwards)."""
    with ExitStack() as stack:
        out = []
        for rows in sizes:
            url = stack.enter_context(store_url(kind, folder, pg, pg_options))
            started = time.perf_counter()
            fill(url, rows)
            filled = time.perf_counter() - started
            checkpoints = folder / f"checkpoints-{uuid.uuid4().hex[:8]}"
            store = open_store(
                url, checkpoint_dir=checkpoints, audit_key=BENCH_KEY, checkpoint_every=100
            )
            stack.callback(store.close)
            out.append(Sized(rows=rows, store=store, checkpoints=checkpoints, filled=filled))
        yield out


def timed(samples: list[float], work: Callable[..., object], *args: object, **kw: object) -> None:
    started = time.perf_counter()
    work(*args, **kw)
    samples.append(time.perf_counter() - started)


def interleaved(sized: list[Sized], decide: Decide, *, turns: int, block: int = 10) -> None:
    """``turns`` turns on every store, ``block`` at a time, each round in a rotated order;
    then the "why" look-up and a retention purge the same way."""
    tag = uuid.uuid4().hex[:6]
    for s in sized:  # warm: connections, prepared statements, the policy cache
        for n in range(30):
            device_turn(s.store, decide, -n - 1, tag)
    for start in range(0, turns, block):
        shift = (start // block) % len(sized)
        for s in sized[shift:] + sized[:shift]:
            for n in range(start, min(turns, start + block)):
                timed(s.turns, device_turn, s.store, decide, n, tag)
                user = f"user-{n % USERS}"
                timed(s.why, s.store.last_decision, user_id=user, session_id=None)
        for s in sized[shift:] + sized[:shift]:
            timed(s.purge, s.store.purge_expired, datetime.now(UTC))


def p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]


def report(label: str, sized: list[Sized]) -> list[str]:
    """Lines: per size, median and p95 of a turn, the "why" look-up and a purge, and each as a
    ratio to the smallest size."""
    lines = []
    first = sized[0]
    for s in sized:
        cells = []
        for samples, base in ((s.turns, first.turns), (s.why, first.why), (s.purge, first.purge)):
            m, p = statistics.median(samples), p95(samples)
            bm, bp = statistics.median(base), p95(base)
            cells.append(f"{m * 1e3:7.2f} {p * 1e3:7.2f} {m / bm:5.2f}x {p / bp:5.2f}x")
        lines.append(f"{label:<26} {s.rows:>10,d}  " + "  |".join(cells) + f"  ({s.filled:.0f} s)")
    return lines


HEADER = (
    f"{'':<26} {'decisions':>10}  {'turn: median ms, p95 ms, ratios':<33}|"
    f"{'why look-up: same':<33}|{'purge: same':<33} (fill)"
)
