"""A TV advert heard by six speakers at once, sent concurrently to a 2-worker server.

Over real HTTP, with the server's broadcast hold: every device's turn comes back ambient.
(That every worker fingerprints with the master's key is pinned in
tests/skill/test_serve_workers.py, where it does not depend on how gunicorn spreads requests.)
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from askfirst.policy.config import EXAMPLE_POLICY_PATH
from tests.e2e.conftest import Server, Servers

pytestmark = [pytest.mark.slow]

DEVICES = [f"speaker-{i}" for i in range(6)]
TOKENS = {f"tok-broadcast-{d}": d for d in DEVICES}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("broadcast-workers")
    servers = Servers(folder, Path(EXAMPLE_POLICY_PATH))
    try:
        started = servers.start(
            "workers",
            store_url=f"sqlite:///{folder / 'askfirst.db'}",
            workers=2,
            threads=4,
            broadcast_key=None,
            broadcast_hold_seconds=0.5,
            device_tokens=TOKENS,
        )
        started.wait_ready()
        yield started
    finally:
        problems = servers.stop_all()
    assert not problems, "\n".join(problems)


def _post(server: Server, token: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(
        f"{server.url}/v1/utterances",
        headers={"Authorization": f"Bearer {token}"},
        json=body,
        timeout=15,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_tv_advert_is_ambient_on_every_device_across_workers(server: Server) -> None:
    start = datetime.now(UTC)
    bodies = []
    for i, device in enumerate(DEVICES):
        at = start + timedelta(seconds=0.05 * i)
        bodies.append(
            (
                f"tok-broadcast-{device}",
                {
                    "text": "Alexa, find me a deal on headphones",
                    "capture": {
                        "trigger": "wake_word",
                        "start": at.isoformat(),
                        "end": (at + timedelta(seconds=2)).isoformat(),
                    },
                },
            )
        )
    with ThreadPoolExecutor(len(bodies)) as pool:
        results = list(pool.map(lambda tb: _post(server, *tb), bodies))
    assert [r["tag"] for r in results] == ["ambient"] * len(DEVICES)
    assert all("broadcast" in r["tag_reasons"] for r in results)
    assert all(r["offer"] is None for r in results)
