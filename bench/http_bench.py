"""HTTP benchmark: ``askfirst serve`` (gunicorn, workers x threads) on loopback.

Measures requests/s and p50/p99 latency, against a bare Flask "hello" route served the same way
(same gunicorn settings) in the same run as the baseline, for:

* a signed ``/alexa`` LaunchRequest (verification on; no decision, no store write);
* a signed ``/alexa`` ProductQuestionIntent (a decision recorded, with its audit record and the
  follow-up window its reply opens);
* ``POST /v1/utterances`` with text and ``push_to_talk`` (a decision recorded);
* the same with ``wake_word`` (the wake word first), captured for 2 s: fingerprinted, compared
  with other devices' captures and held ``broadcast_hold_seconds`` after the server first
  registered it. Two rows: ``wake_word sync`` (the request sleeps the hold in its server
  thread) and ``wake_word async`` (``Prefer: respond-async``: a 202, then the capture again
  once due; a client connection sends other turns meanwhile, as a fleet of devices would, and a
  turn's latency runs from its first report to its decision);

on each store: SQLite with ``synchronous=full`` (the default) and ``=normal``, and PostgreSQL (a
fresh schema, dropped afterwards). Requests come from ``--users`` distinct users and devices, as
a real deployment's would. Two load shapes:

* closed loop: C keep-alive connections sending back to back (maximum throughput);
* open loop: requests paced at a fixed rate, latency measured from the scheduled send time
  (no coordinated omission).

After each server stops, its audit chain is verified and its decision records counted.
The client runs on the same 2 cores as the server, so every figure includes its cost; compare
ratios against the baseline. Bounded in count and time, loopback only. Usage::

    .venv/bin/python bench/http_bench.py [--seconds 5] [--connections 16] [--rate 200]
        [--stores sqlite-full,sqlite-normal,postgresql] [--pg DSN]
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_stores import STORES, store_url  # noqa: E402

from askfirst.skill.api.serve import ServeOptions  # noqa: E402
from tests.skill import envelopes as env  # noqa: E402
from tests.skill.ca import CERT_URL, TestCA, make_ca, signed_headers  # noqa: E402

TOKEN = "tok-bench"
Request = tuple[str, str, bytes | None, dict[str, str]]


@dataclass(frozen=True)
class Result:
    name: str
    shape: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- the baseline server: a bare Flask route under the same gunicorn settings ---------------------


def serve_hello(port: int, workers: int, threads: int) -> None:
    from flask import Flask
    from gunicorn.app.base import BaseApplication

    app = Flask("hello")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    options = ServeOptions(port=port, workers=workers, threads=threads, log_level="warning")

    class Hello(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.gunicorn_config().items():
                if key != "worker_exit":
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Hello().run()


@contextmanager
def running(command: list[str], port: int, environ: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=environ, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SystemExit(f"server on port {port} did not start; see {log}")
            time.sleep(1.0)  # let every worker boot
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- requests -----------------------------------------------------------------------------------


def alexa_requests(ca: TestCA, count: int, *, question: bool, users: int) -> list[Request]:
    """Signed, distinct Alexa requests (distinct request ids, one session per request)."""
    slot = env.product_slot(
        "coffee", resolved_id="coffee-morning-roast", resolved_name="Morning Roast Coffee"
    )
    out: list[Request] = []
    for n in range(count):
        user, device = f"{env.USER_ID}{n % users}", f"{env.DEVICE_ID}{n % users}"
        body = (
            env.intent_request(
                "ProductQuestionIntent", slots={"product": slot}, user_id=user, device_id=device
            )
            if question
            else env.launch_request(user_id=user, device_id=device)
        )
        raw = env.encode(body)
        out.append(("POST", "/alexa", raw, signed_headers(raw, ca.leaf_key)))
    return out


class Utterances(Sequence[Request]):
    """Text utterances from ``users`` users, one session per user, each captured for
    ``seconds`` up to the moment it is sent (a request's body is built when it is taken, as a
    device reports a capture that just ended).

    A ``wake_word`` capture says the wake word and is held for other devices' reports for
    ``broadcast_hold_seconds`` after the server first registers it; with ``prefer_async`` each
    has its own ``utterance_id`` and asks for a 202 instead of a sleeping thread."""

    def __init__(
        self,
        count: int,
        *,
        users: int,
        trigger: str = "push_to_talk",
        seconds: float = 2.0,
        prefer_async: bool = False,
    ) -> None:
        self.size, self.users, self.trigger = count, users, trigger
        self.seconds, self.prefer_async = seconds, prefer_async
        self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        if prefer_async:
            self.headers["Prefer"] = "respond-async"
        self.text = "do you have any deals on coffee"
        if trigger == "wake_word":
            self.text = "Alexa, " + self.text
        self.run = os.urandom(4).hex()

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, n: int) -> Request: ...
    @overload
    def __getitem__(self, n: slice) -> Sequence[Request]: ...
    def __getitem__(self, n: int | slice) -> Request | Sequence[Request]:
        if isinstance(n, slice):
            return [self[i] for i in range(*n.indices(self.size))]
        if not 0 <= n < self.size:
            raise IndexError(n)
        end = datetime.now(UTC)
        start = end - timedelta(seconds=self.seconds)
        body: dict[str, object] = {
            "text": self.text,
            "user_id": f"bench-user-{n % self.users}",
            "session_id": f"bench-session-{n % self.users}",
            "capture": {
                "trigger": self.trigger,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        }
        if self.prefer_async:
            body["utterance_id"] = f"bench-{self.run}-{n}"
        return ("POST", "/v1/utterances", json.dumps(body).encode(), self.headers)


def utterance_requests(
    count: int,
    *,
    users: int,
    trigger: str = "push_to_talk",
    seconds: float = 2.0,
    prefer_async: bool = False,
) -> Utterances:
    """See :class:`Utterances`."""
    return Utterances(
        count, users=users, trigger=trigger, seconds=seconds, prefer_async=prefer_async
    )


# -- load shapes --------------------------------------------------------------------------------


FIRST_ERROR: dict[str, str] = {}
"""Per endpoint name, the first failed response, so a run with errors says what they were."""


def _send(conn: http.client.HTTPConnection, request: Request, name: str) -> bool:
    method, path, body, headers = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        FIRST_ERROR.setdefault(name, f"HTTP {response.status}: {data[:160]!r}")
    return response.status == 200


def run_workers(worker: Callable[[], None], connections: int) -> float:
    """Run ``worker`` on ``connections`` threads at once; seconds until the last one ended."""
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def closed_loop(
    name: str,
    port: int,
    next_request: Callable[[int], Request],
    *,
    connections: int,
    seconds: float,
    limit: int,
) -> Result:
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local: list[float] = []
        bad = 0
        while time.perf_counter() < deadline:
            index = next(counter)
            if index >= limit:
                break
            started = time.perf_counter()
            try:
                ok = _send(conn, next_request(index), name)
            except (OSError, http.client.HTTPException) as e:
                FIRST_ERROR.setdefault(name, f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            local.append(time.perf_counter() - started)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    elapsed = run_workers(worker, connections)
    return Result(name, f"closed x{connections}", len(latencies), errors[0], elapsed, latencies)


def closed_loop_deferred(
    name: str,
    port: int,
    next_request: Callable[[int], Request],
    *,
    connections: int,
    seconds: float,
    limit: int,
) -> Result:
    """Closed loop for ``Prefer: respond-async`` turns: a 202 puts the turn aside until its
    ``Retry-After`` and the connection sends the next turn meanwhile (a fleet of devices shares
    the connections); a due turn is sent again first. Counts decided turns; a turn's latency
    runs from its first report to its decision."""
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        waiting: list[tuple[float, int, float, Request]] = []  # (due, index, first sent, request)
        local: list[float] = []
        bad = 0
        while True:
            now = time.perf_counter()
            if waiting and waiting[0][0] <= now:
                _, index, first, request = heapq.heappop(waiting)
            elif now < deadline and (index := next(counter)) < limit:
                first, request = now, next_request(index)
            elif waiting:
                time.sleep(max(0.0, waiting[0][0] - now))
                continue
            else:
                break
            try:
                method, path, body, headers = request
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as e:
                FIRST_ERROR.setdefault(name, f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                bad += 1
                continue
            if response.status == 202:
                wait = float(json.loads(data)["retry_after"])
                heapq.heappush(waiting, (time.perf_counter() + wait, index, first, request))
                continue
            if response.status != 200:
                FIRST_ERROR.setdefault(name, f"HTTP {response.status}: {data[:160]!r}")
                bad += 1
            local.append(time.perf_counter() - first)
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    elapsed = run_workers(worker, connections)
    return Result(name, f"closed x{connections}", len(latencies), errors[0], elapsed, latencies)


def open_loop(
    name: str,
    port: int,
    next_request: Callable[[int], Request],
    *,
    rate: float,
    seconds: float,
    connections: int,
) -> Result:
    """Send at ``rate`` req/s on a fixed schedule; latency counts from the scheduled time."""
    total = int(rate * seconds)
    interval = 1.0 / rate
    counter = itertools.count()
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    began = time.perf_counter() + 0.05

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local: list[float] = []
        bad = 0
        while True:
            index = next(counter)
            if index >= total:
                break
            scheduled = began + index * interval
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                ok = _send(conn, next_request(index), name)
            except (OSError, http.client.HTTPException) as e:
                FIRST_ERROR.setdefault(name, f"{type(e).__name__}: {e}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            local.append(time.perf_counter() - scheduled)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    run_workers(worker, connections)
    elapsed = time.perf_counter() - began
    return Result(name, f"open {rate:g}/s", len(latencies), errors[0], elapsed, latencies)


# -- main ---------------------------------------------------------------------------------------


def audit_summary(url: str) -> str:
    """Verify the chain the run wrote and count its decision records."""
    from askfirst.store.base import open_store

    store = open_store(url)
    try:
        report = store.audit_verify()
        out = io.StringIO()
        store.audit_export(out)
        decisions = sum('"kind": "decision"' in line for line in out.getvalue().splitlines())
    finally:
        store.close()
    verdict = "valid" if report.ok else f"INVALID: {report.problems[:3]}"
    return f"{report.count} audit records ({decisions} decisions), chain {verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per closed-loop run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s")
    parser.add_argument("--low-rate", type=float, default=0.0, help="a second open-loop rate")
    parser.add_argument("--open-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=ServeOptions().threads)
    parser.add_argument("--limit", type=int, default=8000, help="max requests per run")
    parser.add_argument("--users", type=int, default=1000, help="distinct users and devices")
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument(
        "--pg",
        default=os.environ.get("ASKFIRST_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--hold", type=float, default=0.5, help="broadcast_hold_seconds (default the server's)"
    )
    parser.add_argument("--hello", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hello is not None:
        serve_hello(args.hello, args.workers, args.threads)
        return 0

    load_before = os.getloadavg()[0]
    ca = make_ca(datetime.now(UTC).replace(microsecond=0), label="bench")
    results: list[Result] = []
    audits: list[str] = []
    with tempfile.TemporaryDirectory(prefix="askfirst-bench-") as tmp:
        folder = Path(tmp)
        (folder / "roots.pem").write_bytes(ca.root_pem)
        (folder / "chain.pem").write_bytes(ca.chain_pem)
        environ = {
            **os.environ,
            "ASKFIRST_DEVICE_TOKENS": json.dumps({TOKEN: "bench-device"}),
            "ASKFIRST_ALEXA_SKILL_IDS": json.dumps([env.SKILL_ID]),
            "ASKFIRST_ALEXA_TRUST_ROOTS": str(folder / "roots.pem"),
            "ASKFIRST_ALEXA_CERT_FILES": json.dumps({CERT_URL: str(folder / "chain.pem")}),
            "ASKFIRST_BROADCAST_HOLD_SECONDS": str(args.hold),
            # One bench device stands for many: no per-device or unauthenticated-body limits.
            "ASKFIRST_DEVICE_CONCURRENCY": "1000",
            "ASKFIRST_MAX_BODY_READS": "1000",
            "ASKFIRST_STORE_TIMEOUT_SECONDS": "10",
        }
        shape = ["--workers", str(args.workers), "--threads", str(args.threads)]
        rates = sorted({r for r in (args.rate, args.low_rate) if r > 0}, reverse=True)

        def measure(name: str, port: int, requests_for: Callable[[int], Sequence[Request]]) -> None:
            """A closed-loop run, then an open-loop run at each rate; fresh requests for each."""
            reqs = requests_for(args.limit)
            results.append(
                closed_loop(
                    name,
                    port,
                    reqs.__getitem__,
                    connections=args.connections,
                    seconds=args.seconds,
                    limit=len(reqs),
                )
            )
            for rate in rates:
                paced = requests_for(int(rate * args.open_seconds))
                results.append(
                    open_loop(
                        name,
                        port,
                        paced.__getitem__,
                        rate=rate,
                        seconds=args.open_seconds,
                        connections=args.connections,
                    )
                )

        hello_port = free_port()
        hello_cmd = [sys.executable, __file__, "--hello", str(hello_port), *shape]
        hello: Request = ("GET", "/hello", None, {})
        with running(hello_cmd, hello_port, environ, folder / "hello.log"):
            measure("hello (baseline)", hello_port, lambda n: [hello] * n)
        askfirst = str(Path(sys.executable).parent / "askfirst")
        for index, kind in enumerate(k.strip() for k in args.stores.split(",") if k.strip()):
            with store_url(kind, folder, args.pg) as url:
                port = free_port()
                command = [askfirst, "serve", "--port", str(port), *shape]
                served = {**environ, "ASKFIRST_STORE_URL": url}
                with running(command, port, served, folder / f"askfirst-{kind}.log"):
                    if index == 0:  # no store write: the same on every store
                        measure(
                            "/alexa LaunchRequest",
                            port,
                            lambda n: alexa_requests(ca, n, question=False, users=args.users),
                        )
                    measure(
                        f"{kind}: /alexa question",
                        port,
                        lambda n: alexa_requests(ca, n, question=True, users=args.users),
                    )
                    measure(
                        f"{kind}: /v1/utterances",
                        port,
                        lambda n: utterance_requests(n, users=args.users),
                    )
                    measure(
                        f"{kind}: wake_word sync",
                        port,
                        lambda n: utterance_requests(n, users=args.users, trigger="wake_word"),
                    )
                    wake = utterance_requests(
                        args.limit, users=args.users, trigger="wake_word", prefer_async=True
                    )
                    results.append(
                        closed_loop_deferred(
                            f"{kind}: wake_word async",
                            port,
                            wake.__getitem__,
                            connections=args.connections,
                            seconds=args.seconds,
                            limit=len(wake),
                        )
                    )
                    measure(  # again: the first run of a fresh store pays its warm-up
                        f"{kind}: /v1/utterances (again)",
                        port,
                        lambda n: utterance_requests(n, users=args.users),
                    )
                audits.append(f"{kind}: {audit_summary(url)}")
    base = {r.shape: r for r in results if r.name.startswith("hello")}
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, {os.cpu_count()} cores, "
        f"loopback, Python keep-alive client on the same cores, {args.users} users; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print(
        f"{'endpoint':34} {'load':12} {'n':>6} {'err':>4} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>8} {'rps/base':>8} {'p99/base':>8}"
    )
    for r in results:
        b = base[r.shape]
        print(
            f"{r.name:34} {r.shape:12} {r.count:6d} {r.errors:4d} {r.rps:8.0f} "
            f"{r.pct(0.5):7.2f} {r.pct(0.99):8.2f} {r.rps / b.rps:8.2f} "
            f"{r.pct(0.99) / b.pct(0.99):8.2f}"
        )
    by_name = {(r.name, r.shape): r for r in results}
    for (name, load), held in by_name.items():
        if " wake_word " not in name:
            continue
        kind = name.split(":")[0]
        ptt = by_name.get((f"{kind}: /v1/utterances (again)", load)) or by_name.get(
            (f"{kind}: /v1/utterances", load)
        )
        if ptt is not None:
            print(
                f"{name} vs push_to_talk ({load}): throughput x{held.rps / ptt.rps:.2f}, "
                f"p50 {held.pct(0.5) - ptt.pct(0.5):+.1f} ms (the hold is {args.hold:g} s)"
            )
    for line in audits:
        print(line)
    for name, error in FIRST_ERROR.items():
        print(f"first error of {name}: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
