"""End-to-end fixtures: a fresh PostgreSQL database and ``askfirst serve`` processes on loopback.

Servers are real gunicorn subprocesses configured only through ``ASKFIRST_*`` environment
variables; every one started is terminated by the fixture's finalizer, even when a test fails.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
ASKFIRST = Path(sys.executable).parent / "askfirst"
TOKEN = "tok-e2e-two-servers-7c41"
DEVICE = "living-room"
OTHER_TOKEN = "tok-e2e-two-servers-0b9d"
OTHER_DEVICE = "hallway"
BROADCAST_KEY = "e2e-shared-broadcast-key-" + "5" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database on the same server."""
    return make_url(dsn).set(database=database).render_as_string(hide_password=False)


def with_address(url: str, *, host: str, port: int) -> str:
    """``url`` pointing at another host and port (a proxy, or a closed port)."""
    return make_url(url).set(host=host, port=port).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """The URL of a fresh, uniquely named PostgreSQL database, dropped afterwards.

    Skips when PostgreSQL is unreachable at the default DSN; when ASKFIRST_TEST_PG_DSN is set
    (as scripts/test and CI do) an unreachable server is a failure, not a skip.
    """
    explicit = os.environ.get("ASKFIRST_TEST_PG_DSN")
    dsn = explicit or DEFAULT_PG_DSN
    name = f"askfirst_e2e_{uuid.uuid4().hex[:12]}"
    admin: psycopg.Connection[tuple[object, ...]] | None = None
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        unreachable = f"PostgreSQL unreachable at {dsn!r}: {exc}"
    if admin is None:
        if explicit:
            pytest.fail(f"ASKFIRST_TEST_PG_DSN is set but {unreachable}")
        pytest.skip(unreachable)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Server:
    """One ``askfirst serve`` process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    clean_exit: bool = True
    """Whether it must exit 0 on SIGTERM (False for a server expected to die at start-up)."""

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_answering(self, seconds: float = 20) -> None:
        """Wait for ``/healthz`` to answer 200; fail at once if the process has exited."""
        self._wait_for("healthz", seconds)

    def wait_ready(self, seconds: float = 20) -> None:
        """Wait for ``/readyz`` to answer 200; fail at once if the process has exited."""
        self._wait_for("readyz", seconds)

    def _wait_for(self, route: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"expected server {self.name!r} to serve, got exit status "
                    f"{self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if requests.get(f"{self.url}/{route}", timeout=1).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or no worker has booted to answer
            time.sleep(0.05)
        raise AssertionError(f"expected {self.url}/{route} to answer 200 within {seconds} s")


@dataclass
class Servers:
    """Starts ``askfirst serve`` processes and stops every one of them."""

    folder: Path
    policy_path: Path
    started: list[Server] = field(default_factory=list)

    def start(
        self,
        name: str,
        *,
        store_url: str,
        workers: int = 2,
        threads: int = 4,
        clean_exit: bool = True,
        broadcast_key: str | None = BROADCAST_KEY,
        broadcast_hold_seconds: float = 0,
        device_tokens: dict[str, str] | None = None,
        store_timeout_seconds: float | None = None,
    ) -> Server:
        """Start a server (without waiting for it) with the shared tokens, key and policy."""
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ASKFIRST_")}
        environ.update(
            {
                "ASKFIRST_STORE_URL": store_url,
                "ASKFIRST_POLICY_PATH": str(self.policy_path),
                "ASKFIRST_DEVICE_TOKENS": json.dumps(
                    device_tokens or {TOKEN: DEVICE, OTHER_TOKEN: OTHER_DEVICE}
                ),
                "ASKFIRST_BROADCAST_HOLD_SECONDS": str(broadcast_hold_seconds),
                # These tests drive one token with up to 16 concurrent requests on purpose (one
                # user's caps under contention); per-device admission is tested elsewhere.
                "ASKFIRST_DEVICE_CONCURRENCY": "64",
            }
        )
        if broadcast_key is not None:
            environ["ASKFIRST_BROADCAST_KEY"] = broadcast_key
        if store_timeout_seconds is not None:
            environ["ASKFIRST_STORE_TIMEOUT_SECONDS"] = str(store_timeout_seconds)
        log = self.folder / f"{name}.log"
        command = [
            str(ASKFIRST),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, env=environ, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT
            )
        server = Server(name, f"http://127.0.0.1:{port}", process, log, clean_exit)
        self.started.append(server)
        return server

    def stop_all(self) -> list[str]:
        """SIGTERM every server, SIGKILL what does not stop; the problems found."""
        for server in self.started:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        problems = []
        for server in self.started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
                problems.append(f"{server.name}: did not stop within 15 s of SIGTERM")
                continue
            if server.clean_exit and server.process.returncode != 0:
                problems.append(
                    f"{server.name}: expected exit status 0, got "
                    f"{server.process.returncode}:\n{server.log_tail()}"
                )
        self.started.clear()
        return problems
