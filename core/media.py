"""Known media: adverts and programmes an operator registered, kept only as fingerprints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from askfirst.core.capture import CaptureContextError, require_aware, require_text


@dataclass(frozen=True)
class KnownMedia:
    """One registered advert or programme: its name and keyed fingerprints, never its content."""

    id: str
    name: str
    """What the operator called it (by default the file name it was registered from)."""
    added_at: datetime
    text_print: bytes = b""
    """Keyed word shingles of its words (``speech.shingles``); empty for audio-only media."""
    audio_print: bytes = b""
    """Keyed landmarks of its sound (``speech.acoustic``); empty for text-only media."""

    def __post_init__(self) -> None:
        require_text(self.id, field="id", error=CaptureContextError)
        require_text(self.name, field="name", error=CaptureContextError)
        require_aware(self.added_at, field="added_at")
        if not self.text_print and not self.audio_print:
            raise CaptureContextError(
                "text_print/audio_print: expected at least one fingerprint, got neither"
            )
