"""Certificate fetches: failures remembered briefly, few at once, none for another skill.

Issue 12, item 5: every unsigned request naming a new URL used to cost an outbound fetch.
"""

from __future__ import annotations

import json
import threading

import pytest

from askfirst.skill.alexa.certs import GuardedFetcher
from askfirst.skill.alexa.verify import AlexaVerifier
from askfirst.skill.errors import SkillError, VerificationError
from tests.skill.ca import CERT_URL, SKILL_ID, StaticFetcher, TestCA, envelope, signed_headers
from tests.skill.ca import test_ca as make_ca

OTHER_URL = "https://s3.amazonaws.com/echo.api/other-cert.pem"


class Unreachable:
    """Every fetch fails like a refused connection; counts the attempts."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        raise ConnectionRefusedError(f"cannot reach {url}")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_fetch_is_remembered_then_retried() -> None:
    fetcher, clock = Unreachable(), Clock()
    guarded = GuardedFetcher(fetcher, failure_seconds=60, clock=clock)
    for _ in range(5):
        with pytest.raises(VerificationError, match="fetch failed: ConnectionRefusedError"):
            guarded(OTHER_URL)
    assert fetcher.calls == 1
    clock.now += 61
    with pytest.raises(VerificationError):
        guarded(OTHER_URL)
    assert fetcher.calls == 2


def test_concurrent_fetches_are_capped_with_a_503() -> None:
    release, entered = threading.Event(), threading.Semaphore(0)

    def slow(url: str) -> bytes:
        entered.release()
        release.wait(5)
        return b"pem"

    guarded = GuardedFetcher(slow, max_concurrent=2)
    threads = [threading.Thread(target=guarded, args=(f"{OTHER_URL}?{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    assert entered.acquire(timeout=5) and entered.acquire(timeout=5)
    with pytest.raises(SkillError) as caught:
        guarded(OTHER_URL)
    assert (caught.value.status, caught.value.code) == (503, "certificate_fetch_busy")
    assert caught.value.retry_after == 1
    release.set()
    for thread in threads:
        thread.join(5)
    assert guarded(OTHER_URL) == b"pem"


def test_a_request_for_another_skill_costs_no_fetch() -> None:
    ca: TestCA = make_ca()
    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    verifier = AlexaVerifier(
        skill_ids=frozenset({SKILL_ID}),
        fetcher=fetcher,
        trust_roots=[ca.root],
        clock=lambda: ca.now,
    )
    body = envelope(timestamp=ca.now, application_id="amzn1.ask.skill.someone-else")
    raw = json.dumps(body).encode()
    with pytest.raises(VerificationError, match="applicationId"):
        verifier.verify(headers=signed_headers(raw, ca.leaf_key), body=raw)
    assert fetcher.calls == []
