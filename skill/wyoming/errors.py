"""The Wyoming edge's errors: each becomes one ``error`` event, and some also end the connection."""

from __future__ import annotations

from askfirst.skill.errors import SkillError


class WyomingError(SkillError):
    """A Wyoming event askfirst refuses; sent to the peer as ``error {text, code}``.

    ``closes`` is True when the connection cannot go on: the framing is lost (a header that is
    not JSON, a header line too long), or the peer is Home Assistant's speech-to-text client,
    which ignores ``error`` and waits for a ``transcript`` until the connection closes.
    """

    code = "bad-event"

    def __init__(self, message: str, *, code: str | None = None, closes: bool = False) -> None:
        super().__init__(message, code=code)
        self.closes = closes


class FramingError(WyomingError):
    """The byte stream no longer splits into events; the connection must close."""

    code = "bad-header"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, closes=True)
