"""What every connection of one ``askfirst wyoming`` shares: the turn pipeline, the settings,
the listener's identity, the short-lived recall, and the ``info`` answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wyoming.event import Event

from askfirst.core.devices import Device
from askfirst.skill.settings import Settings, WyomingListener
from askfirst.skill.wyoming.events import build_info
from askfirst.skill.wyoming.opening import NoteOpening, OpeningListener
from askfirst.skill.wyoming.reader import Limits
from askfirst.skill.wyoming.recall import Recall
from askfirst.turn.pipeline import Pipeline

if TYPE_CHECKING:
    from askfirst.skill.metrics.registry import Metrics

logger = logging.getLogger(__name__)


def listener_for(uri: str, settings: Settings) -> WyomingListener:
    """The configured identity of ``uri``; unconfigured, a device named after the URI itself
    (one device per listening URI, never anonymous), with a warning."""
    listener = settings.wyoming_listeners.get(uri)
    if listener is None:
        listener = WyomingListener(device_id=f"wyoming:{uri}")
        logger.warning(
            "wyoming: %s has no entry in wyoming_listeners; its unidentified turns belong to "
            "device %r",
            uri,
            listener.device_id,
        )
    return listener


@dataclass
class Service:
    """The shared state of one listening URI."""

    pipeline: Pipeline
    settings: Settings
    listener: WyomingListener
    limits: Limits = field(default_factory=Limits)
    opening: OpeningListener | None = None
    """Given the opening seconds of each wake-word utterance as it streams; by default they
    are registered for broadcast detection (:class:`NoteOpening`)."""
    metrics: Metrics | None = None
    """Where the Wyoming latencies are counted (turns and transcriptions are counted by the
    pipeline's observer); None when metrics are off."""
    recall: Recall = field(init=False)
    info_event: Event = field(init=False)

    tokens: dict[str, Device] = field(init=False)
    """Device-API bearer token -> device: a direct peer may name itself with one."""

    def __post_init__(self) -> None:
        if self.opening is None:
            self.opening = NoteOpening(self.pipeline)
        self.recall = Recall(key=self.pipeline.config.broadcast_key)
        self.info_event = build_info(asr_locales=self.asr_locales).event()
        self.tokens = self.settings.devices()

    @property
    def asr_locales(self) -> tuple[str, ...]:
        """The locales with a configured speech model (loaded or still loading)."""
        return self.pipeline.transcribers.locales

    @property
    def default_locale(self) -> str:
        return self.settings.default_locale

    @property
    def default_asr_locale(self) -> str:
        """For a ``transcribe`` without a language: the default locale if it has a model."""
        locales = self.asr_locales
        if not locales or self.default_locale in locales:
            return self.default_locale
        return locales[0]

    def transcribed(
        self, *, locale: str, audio_seconds: float, seconds: float, after_stop: float
    ) -> None:
        """A streamed utterance was transcribed: tell the pipeline's observer (as a device-API
        transcription does), the latency histogram and the log. Never fails the utterance."""
        logger.info(
            "wyoming: transcribed %.2f s of %s audio (%.0f ms decoding), transcript %.0f ms "
            "after audio-stop",
            audio_seconds,
            locale,
            1000 * seconds,
            1000 * after_stop,
        )
        if self.metrics is not None:
            self.metrics.wyoming_seconds.labels(step="transcript").observe(after_stop)
        observer = self.pipeline.observer
        if observer is None:
            return
        try:
            observer.transcribed(locale=locale, audio_seconds=audio_seconds, seconds=seconds)
        except Exception:  # watching must never fail a transcription
            logger.exception("wyoming: the turn observer failed on a %s transcription", locale)

    def answered(self, seconds: float) -> None:
        """A conversation turn was answered ``seconds`` after its ``transcript`` arrived."""
        if self.metrics is not None:
            self.metrics.wyoming_seconds.labels(step="handle").observe(seconds)
