"""Build the turn pipeline a server runs from its settings: policy, store and speech models."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from askfirst.policy.config import Policy, load_policy
from askfirst.policy.grammar import warm_grammars
from askfirst.skill.settings import Settings
from askfirst.store.base import open_store
from askfirst.store.keys import read_audit_key
from askfirst.turn.pipeline import Pipeline
from askfirst.turn.transcribers import TranscriberSet

logger = logging.getLogger(__name__)


def warm_policy(policy: Policy) -> threading.Thread:
    """Compile the policy's question grammars in a background thread (started, returned).

    ``grammar_for`` caches per (locale, catalog), so the first question does not pay the
    1-2.6 s compile; a request arriving before the thread is done compiles it itself."""

    def run() -> None:
        try:
            warm_grammars(policy.locales, policy.catalog)
        except Exception:  # a broken grammar still fails loudly on the first request
            logger.exception("warming the question grammars failed")
        else:
            logger.info("question grammars compiled for %s", ", ".join(policy.locales))

    thread = threading.Thread(target=run, name="askfirst-grammar-warm", daemon=True)
    thread.start()
    return thread


def pipeline_from_settings(settings: Settings, **kwargs: Any) -> Pipeline:
    """Load the policy, open the store lazily and start loading the speech models."""
    from askfirst.speech.vosk_engine import VoskTranscriber  # the engine is an optional extra

    def load(path: Path) -> VoskTranscriber:
        return VoskTranscriber(
            path, pool_size=settings.pool_size, max_seconds=settings.max_audio_seconds
        )

    store = open_store(
        settings.store_url,
        checkpoint_dir=settings.checkpoint_dir,
        checkpoint_every=settings.checkpoint_every,
        audit_key=None
        if settings.audit_key_file is None
        else read_audit_key(settings.audit_key_file),
        retention=timedelta(days=settings.retention_days),
        lock_timeout=settings.store_timeout_seconds,
        lazy=True,
    )
    policy = load_policy(settings.policy_path)
    warm_policy(policy)
    return Pipeline(
        policy=policy,
        store=store,
        transcribers=TranscriberSet.loading(settings.model_dirs(), loader=load),
        config=settings.turn_config(),
        **kwargs,
    )
