"""The Flask app factory: the Alexa endpoint at ``POST /alexa`` and the device API."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, current_app, request

from askfirst.skill import replies
from askfirst.skill.alexa.certs import CertificateFetcher, http_fetcher, load_trust_roots
from askfirst.skill.alexa.facts import read_facts
from askfirst.skill.alexa.handlers import MAX_RESPONSE_BYTES, AlexaEndpoint
from askfirst.skill.alexa.verify import AlexaVerifier, normalize_cert_url
from askfirst.skill.api import errors as http_errors
from askfirst.skill.api import request_ids
from askfirst.skill.api.admission import Admission, Limits
from askfirst.skill.api.depth import check_depth
from askfirst.skill.api.readiness import Readiness
from askfirst.skill.api.routes import blueprint, decode_json
from askfirst.skill.errors import SkillError, VerificationError
from askfirst.skill.settings import Settings, load_settings
from askfirst.skill.wiring import pipeline_from_settings
from askfirst.turn.pipeline import Pipeline

logger = logging.getLogger(__name__)

JSON = "application/json"


def file_fetcher(files: Mapping[str, Path]) -> CertificateFetcher:
    """A fetcher serving certificate chains from local files, keyed by their canonical URL.

    Keys are normalised with the same rules as request URLs, so nothing about which URLs are
    accepted changes: only where the bytes come from.
    """
    table = {normalize_cert_url(url): Path(path) for url, path in files.items()}

    def fetch(url: str) -> bytes:
        path = table.get(url)
        if path is None:
            raise VerificationError(
                f"certificate chain: expected one of {sorted(table)!r}, got {url!r}"
            )
        try:
            return path.read_bytes()
        except OSError as exc:
            raise VerificationError(
                f"certificate chain {url!r}: cannot read {str(path)!r}"
            ) from exc

    return fetch


def build_verifier(settings: Settings) -> AlexaVerifier | None:
    """The request verifier the settings ask for; None when verification is turned off."""
    if not settings.alexa_verify:
        logger.warning(
            "ALEXA REQUEST VERIFICATION IS OFF (ASKFIRST_ALEXA_VERIFY=false): anyone can post "
            "requests to /alexa that claim to come from Alexa. Use this only for development."
        )
        return None
    roots = (
        None if settings.alexa_trust_roots is None else load_trust_roots(settings.alexa_trust_roots)
    )
    fetcher = (
        file_fetcher(settings.alexa_cert_files) if settings.alexa_cert_files else http_fetcher()
    )
    return AlexaVerifier(
        skill_ids=frozenset(settings.alexa_skill_ids), fetcher=fetcher, trust_roots=roots
    )


def admission_limits(settings: Settings) -> Limits:
    """The admission gates' sizes from the settings (see ``askfirst.skill.api.admission``)."""
    pool = settings.pool_size or os.cpu_count() or 1
    return Limits(
        device_concurrency=settings.device_concurrency,
        # One core's worth of recognition is left for text turns (issue 12: text p99 under
        # audio load within 3x of idle); one audio turn at least.
        audio_concurrency=settings.audio_concurrency or max(1, pool - 1),
        max_body_reads=settings.max_body_reads,
        body_read_seconds=settings.body_read_seconds,
        max_body_bytes=settings.max_body_bytes,
    )


def create_app(
    settings: Settings | None = None,
    *,
    pipeline: Pipeline | None = None,
    verifier: AlexaVerifier | None = None,
) -> Flask:
    """The askfirst web app. Builds the pipeline from ``settings`` unless one is given."""
    settings = settings if settings is not None else load_settings()
    app = Flask("askfirst")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if pipeline is None:
        pipeline = pipeline_from_settings(settings)
    alexa_enabled = bool(settings.alexa_skill_ids)
    if not alexa_enabled:
        logger.warning("no ASKFIRST_ALEXA_SKILL_IDS configured: POST /alexa is disabled")
    elif verifier is None:
        verifier = build_verifier(settings)
    app.extensions["askfirst.settings"] = settings
    app.extensions["askfirst.pipeline"] = pipeline
    app.extensions["askfirst.readiness"] = Readiness(pipeline.readiness)
    app.extensions["askfirst.alexa"] = AlexaEndpoint(pipeline=pipeline) if alexa_enabled else None
    app.extensions["askfirst.verifier"] = verifier
    request_ids.register(app)
    _observe(app, settings, pipeline)
    app.wsgi_app = Admission(  # type: ignore[method-assign]
        app.wsgi_app, limits=admission_limits(settings), devices=settings.devices()
    )
    app.register_blueprint(blueprint)
    app.add_url_rule("/alexa", "alexa", alexa, methods=["POST"])
    if settings.console_tokens:
        from askfirst.skill.console.views import register as register_console

        register_console(app, settings)
    http_errors.register(app)
    return app


def _observe(app: Flask, settings: Settings, pipeline: Pipeline) -> None:
    """Watch the pipeline: metrics (unless ``ASKFIRST_METRICS=false``) and the logs' decision id."""
    if not settings.metrics:
        from askfirst.skill.logs import DecisionIds

        pipeline.observer = DecisionIds()
        return
    from askfirst.skill.metrics import http as metrics_http
    from askfirst.skill.metrics.observer import watch
    from askfirst.skill.metrics.registry import Metrics

    metrics = Metrics()
    app.extensions["askfirst.metrics_observer"] = watch(pipeline, metrics)
    metrics_http.register(app, metrics)


def _raw_body(limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise SkillError(
            f"expected a body of at most {limit} bytes, got {request.content_length} bytes",
            code="body_too_large",
            status=413,
        )
    raw = request.get_data(cache=False)
    if len(raw) > limit:
        raise SkillError(
            f"expected a body of at most {limit} bytes, got more", code="body_too_large", status=413
        )
    return raw


def _check_application(body: Mapping[str, object], skill_ids: list[str]) -> None:
    """With verification off the application id is still checked (a cheap guard)."""
    app_id = read_facts(body).application_id
    if app_id not in skill_ids:
        raise VerificationError(f"applicationId: expected one of {skill_ids!r}, got {app_id!r}")


def alexa() -> Response:
    """``POST /alexa``: verify, dispatch to the skill, answer with a response envelope."""
    endpoint: AlexaEndpoint | None = current_app.extensions["askfirst.alexa"]
    settings: Settings = current_app.extensions["askfirst.settings"]
    if endpoint is None:
        raise SkillError(
            "POST /alexa: expected ASKFIRST_ALEXA_SKILL_IDS to name this skill, got none",
            code="alexa_not_configured",
            status=404,
        )
    if request.mimetype != JSON:
        raise SkillError(
            f"expected Content-Type {JSON!r}, got {request.content_type!r}",
            code="unsupported_media_type",
            status=415,
        )
    raw = _raw_body(settings.max_body_bytes)
    verifier: AlexaVerifier | None = current_app.extensions["askfirst.verifier"]
    if verifier is not None:
        body = verifier.verify(headers=dict(request.headers.items()), body=raw)
        check_depth(body)
    else:
        body = decode_json(raw)
        _check_application(body, settings.alexa_skill_ids)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SkillError(
            "expected a UTF-8 JSON body, got other bytes", code="malformed_json"
        ) from None
    encoded = json.dumps(endpoint.respond(body, text), separators=(",", ":")).encode()
    if len(encoded) > MAX_RESPONSE_BYTES:
        logger.error(
            "Alexa response of %d bytes exceeds %d; apologising", len(encoded), MAX_RESPONSE_BYTES
        )
        apology = replies.apology()
        encoded = json.dumps(
            {
                "version": "1.0",
                "response": {
                    "outputSpeech": {"type": "PlainText", "text": apology.speech},
                    "shouldEndSession": True,
                },
            }
        ).encode()
    return Response(encoded, mimetype=JSON)
