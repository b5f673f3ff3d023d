"""What the service remembers for seconds: transcripts it just produced, and open follow-ups.

Home Assistant sends the audio to the speech-to-text program and, a moment later, the text to
the conversation program, on two different connections, and tells neither how the turn began.
When askfirst made that transcript itself, the capture facts (trigger, start, end) are kept
for a few seconds under a keyed fingerprint of the text and the peer's address, so the
conversation turn is decided with them. No transcript text is kept, only its HMAC.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from askfirst.skill.wyoming.identity import TriggerFacts
from askfirst.speech.broadcast import fingerprint

logger = logging.getLogger(__name__)

HEARD_SECONDS = 10.0
"""How long a transcript waits for its conversation turn."""
MAX_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class HeardFacts:
    """How askfirst's own speech-to-text captured an utterance."""

    trigger: TriggerFacts
    start: datetime
    end: datetime
    utterance_id: str | None = None
    """The id the utterance's opening was registered under: its turn is decided under it."""
    device_id: str | None = None
    """The device the speech-to-text connection spoke for (the opening's registration)."""


@dataclass(frozen=True, slots=True)
class FollowUp:
    """askfirst's reply in a conversation ended in a question; the window it opened."""

    device_id: str
    expires_at: float
    """Monotonic seconds."""


class Recall:
    """Two small, bounded, thread-safe memories with expiry."""

    def __init__(self, *, key: bytes, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()
        self._heard: OrderedDict[tuple[str, str], tuple[float, HeardFacts]] = OrderedDict()
        self._follow_ups: OrderedDict[str, FollowUp] = OrderedDict()

    def _heard_key(self, peer: str, text: str) -> tuple[str, str]:
        return peer, fingerprint(text, key=self._key)

    def heard(self, *, peer: str, text: str, facts: HeardFacts) -> None:
        """Remember that ``peer`` was just given ``text`` for an utterance captured as ``facts``."""
        if not text.strip():
            return
        now = self._clock()
        with self._lock:
            self._expire(now)
            self._heard[self._heard_key(peer, text)] = (now + HEARD_SECONDS, facts)
            while len(self._heard) > MAX_ENTRIES:
                self._heard.popitem(last=False)

    def take_heard(self, *, peer: str, text: str) -> HeardFacts | None:
        """The capture facts of ``text`` if askfirst just transcribed it for ``peer``; once."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._heard.pop(self._heard_key(peer, text), None)
        return None if found is None else found[1]

    def asked(self, *, conversation_id: str, device_id: str, seconds: float) -> None:
        """askfirst's reply asked something back: the next turn of this conversation in
        ``seconds`` is a follow-up."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            self._follow_ups[conversation_id] = FollowUp(device_id, now + seconds)
            self._follow_ups.move_to_end(conversation_id)
            while len(self._follow_ups) > MAX_ENTRIES:
                self._follow_ups.popitem(last=False)

    def take_follow_up(self, *, conversation_id: str, device_id: str) -> bool:
        """Whether this turn continues a conversation whose last reply asked back, in time."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = self._follow_ups.pop(conversation_id, None)
        return found is not None and found.device_id == device_id

    def _expire(self, now: float) -> None:
        """Drop expired entries; both are kept in expiry order, so only the front is looked at."""
        while self._heard and next(iter(self._heard.values()))[0] <= now:
            self._heard.popitem(last=False)
        while self._follow_ups and next(iter(self._follow_ups.values())).expires_at <= now:
            self._follow_ups.popitem(last=False)
