"""What every connection of one ``askfirst wyoming`` shares: the turn pipeline, the settings,
the listener's identity, the short-lived recall, and the ``info`` answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from wyoming.event import Event

from askfirst.core.devices import Device
from askfirst.skill.settings import Settings, WyomingListener
from askfirst.skill.wyoming.events import build_info
from askfirst.skill.wyoming.opening import NoteOpening, OpeningListener
from askfirst.skill.wyoming.reader import Limits
from askfirst.skill.wyoming.recall import Recall
from askfirst.turn.pipeline import Pipeline

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
