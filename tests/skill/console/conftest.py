"""Console fixtures: an app whose store holds the showcase scenario's turns."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from askfirst.skill.simulator.runner import Report
from tests.skill.live import OPERATOR_TOKEN, Live, live_settings, serving

BASE = "https://askfirst.test"
"""The console's cookie is Secure: the test client speaks as if over HTTPS."""


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, Report]]:
    """A live server into which the showcase scenario was played over HTTP."""
    with serving(live_settings(tmp_path_factory.mktemp("console"))) as live:
        yield live, live.play()


@pytest.fixture
def client(played: tuple[Live, Report]) -> FlaskClient:
    return played[0].app.test_client()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: FlaskClient, token: str = OPERATOR_TOKEN) -> int:
    page = client.get("/console/login", base_url=BASE)
    answer = client.post(
        "/console/login",
        data={"token": token, "csrf_token": csrf_of(page.get_data(as_text=True))},
        base_url=BASE,
    )
    return answer.status_code


@pytest.fixture
def operator(client: FlaskClient) -> FlaskClient:
    assert sign_in(client) == 303
    return client
