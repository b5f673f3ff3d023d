"""The value types' exception root: a value that cannot exist, with a stable code."""

from __future__ import annotations


class CoreError(Exception):
    """Root of errors about values every layer shares; ``SpeechError`` derives from it.

    Carries a stable machine-readable ``code`` and a ``message`` that says what was expected
    and what arrived.
    """

    code: str = "bad_value"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
