"""The speech package's exception root and its specific errors."""

from __future__ import annotations

from askfirst.core.errors import CoreError


class SpeechError(CoreError):
    """Root of every error raised by ``speech``; carries a stable machine-readable code."""

    code: str = "speech_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AudioError(SpeechError):
    """Audio askfirst does not accept; the message says what was expected and what arrived."""

    code = "bad_audio"


class ModelNotFoundError(SpeechError):
    """No usable Vosk model; the message lists the paths searched and the command that fixes it."""

    code = "model_not_found"


class ModelDownloadError(SpeechError):
    """A model download or unpack failed (checksum, truncation, unsafe archive entry)."""

    code = "model_download_failed"
