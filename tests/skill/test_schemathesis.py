"""schemathesis against the generated ``/openapi.json``: the document and the server agree.

The schema is loaded from the running app (real Flask, real SQLite store), so what is checked is
the document the server publishes. Every operation gets positive and negative cases; the checks:
never a 5xx, answers match their documented schema, status and content type, and data the
document refuses is refused (``negative_data_rejection``). Data the document accepts may still
be refused for reasons a schema cannot state (a time far from the server's clock, an offer the
catalog lacks, a user outside the household), so ``positive_data_acceptance`` is not run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from askfirst.skill.api.app import create_app
from askfirst.skill.settings import load_settings
from tests.skill.conftest import DEVICE_ID, DEVICE_TOKEN
from tests.skill.envelopes import SKILL_ID

_FOLDER = tempfile.TemporaryDirectory(prefix="askfirst-schemathesis-")
APP = create_app(
    load_settings(
        None,
        store_url=f"sqlite:///{Path(_FOLDER.name) / 'askfirst.db'}",
        device_tokens={DEVICE_TOKEN: DEVICE_ID},
        alexa_skill_ids=[SKILL_ID],
        alexa_verify=False,
        broadcast_hold_seconds=0.0,
        vosk_model=None,
        vosk_models={},
    )
)
"""One app for the module, built at import: schemathesis reads its schema while collecting."""
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP).include(
    path_regex="^/(v1/|healthz|readyz|openapi)"
)


@pytest.fixture(scope="module", autouse=True)
def _close_app() -> Iterator[None]:
    yield
    APP.extensions["askfirst.pipeline"].close()
    _FOLDER.cleanup()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_server_does_what_its_document_says(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {DEVICE_TOKEN}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
