"""HTTP benchmark: ``askfirst serve`` (gunicorn, workers x threads) on loopback.

Measures requests/s and p50/p99 latency for signed ``/alexa`` requests and for
``/v1/utterances`` with text, against a bare Flask "hello" route served the same way (same
gunicorn settings) in the same run as the baseline. Two load shapes:

* closed loop: C keep-alive connections sending back to back (maximum throughput);
* open loop: requests paced at a fixed rate, latency measured from the scheduled send time
  (no coordinated omission).

Bounded in count and time, loopback only. Usage::

    .venv/bin/python bench/http_bench.py [--seconds 5] [--connections 16] [--rate 200]
"""

from __future__ import annotations

import argparse
import http.client
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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

    from skill.serve import ServeOptions

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


def alexa_requests(ca: TestCA, count: int, *, question: bool) -> list[Request]:
    """Signed, distinct Alexa requests (distinct request ids, one session per request)."""
    slot = env.product_slot(
        "coffee", resolved_id="coffee-morning-roast", resolved_name="Morning Roast Coffee"
    )
    out: list[Request] = []
    for _ in range(count):
        body = (
            env.intent_request("DealQuestionIntent", slots={"product": slot})
            if question
            else env.launch_request()
        )
        raw = env.encode(body)
        out.append(("POST", "/alexa", raw, signed_headers(raw, ca.leaf_key)))
    return out


def utterance_request() -> Request:
    start = datetime.now(UTC)
    body = {
        "text": "do you have any deals on coffee",
        "capture": {
            "trigger": "push_to_talk",
            "start": start.isoformat(),
            "end": (start + timedelta(seconds=2)).isoformat(),
        },
    }
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    return ("POST", "/v1/utterances", json.dumps(body).encode(), headers)


# -- load shapes --------------------------------------------------------------------------------


def _send(conn: http.client.HTTPConnection, request: Request) -> bool:
    method, path, body, headers = request
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status == 200


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
                ok = _send(conn, next_request(index))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            local.append(time.perf_counter() - started)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
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
                ok = _send(conn, next_request(index))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            local.append(time.perf_counter() - scheduled)
            bad += not ok
        conn.close()
        with lock:
            latencies.extend(local)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return Result(name, f"open {rate:g}/s", len(latencies), errors[0], elapsed, latencies)


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per closed-loop run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="open-loop requests/s")
    parser.add_argument("--low-rate", type=float, default=50.0, help="second open-loop rate")
    parser.add_argument("--open-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--limit", type=int, default=8000, help="max requests per run")
    parser.add_argument("--store-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--hello", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hello is not None:
        serve_hello(args.hello, args.workers, args.threads)
        return 0

    ca = make_ca(datetime.now(UTC).replace(microsecond=0), label="bench")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="askfirst-bench-") as tmp:
        folder = Path(tmp)
        (folder / "roots.pem").write_bytes(ca.root_pem)
        (folder / "chain.pem").write_bytes(ca.chain_pem)
        environ = {
            **os.environ,
            "ASKFIRST_STORE_URL": args.store_url or f"sqlite:///{folder / 'bench.db'}",
            "ASKFIRST_DEVICE_TOKENS": json.dumps({TOKEN: "bench-device"}),
            "ASKFIRST_ALEXA_SKILL_IDS": json.dumps([env.SKILL_ID]),
            "ASKFIRST_ALEXA_TRUST_ROOTS": str(folder / "roots.pem"),
            "ASKFIRST_ALEXA_CERT_FILES": json.dumps({CERT_URL: str(folder / "chain.pem")}),
            "ASKFIRST_BROADCAST_HOLD_SECONDS": "0",
        }
        shape = ["--workers", str(args.workers), "--threads", str(args.threads)]
        hello_port, app_port = free_port(), free_port()
        hello_cmd = [sys.executable, __file__, "--hello", str(hello_port), *shape]
        app_cmd = [
            str(Path(sys.executable).parent / "askfirst"),
            "serve",
            "--port",
            str(app_port),
            *shape,
        ]
        rates = sorted({args.rate, args.low_rate}, reverse=True)

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

        hello: Request = ("GET", "/hello", None, {})
        with running(hello_cmd, hello_port, environ, folder / "hello.log"):
            measure("hello (baseline)", hello_port, lambda n: [hello] * n)
        with running(app_cmd, app_port, environ, folder / "askfirst.log"):
            measure(
                "/alexa LaunchRequest", app_port, lambda n: alexa_requests(ca, n, question=False)
            )
            measure("/alexa DealQuestion", app_port, lambda n: alexa_requests(ca, n, question=True))
            measure("/v1/utterances text", app_port, lambda n: [utterance_request()] * n)
    base = {r.shape: r for r in results if r.name.startswith("hello")}
    print(
        f"gunicorn {args.workers} workers x {args.threads} threads, {os.cpu_count()} cores, "
        f"loopback, Python keep-alive client"
    )
    print(
        f"{'endpoint':24} {'load':12} {'n':>6} {'err':>4} {'req/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'rps/base':>8} {'p99/base':>8}"
    )
    for r in results:
        b = base[r.shape]
        print(
            f"{r.name:24} {r.shape:12} {r.count:6d} {r.errors:4d} {r.rps:8.0f} "
            f"{r.pct(0.5):7.2f} {r.pct(0.99):7.2f} {r.rps / b.rps:8.2f} "
            f"{r.pct(0.99) / b.pct(0.99):8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
