"""The store package's exception root and its specific errors."""

from __future__ import annotations


class StoreError(Exception):
    """Root of every error raised by ``store``; carries a stable machine-readable code."""

    code: str = "store_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class AmbientTextRefused(StoreError):  # noqa: N818 - the name the contract gives
    """An attempt to keep the text of an ambient (overheard) utterance; nothing was written."""

    code = "ambient_text_refused"


class AmbientPermitRefused(StoreError):  # noqa: N818 - pairs with AmbientTextRefused
    """An attempt to record a permitted offer for an ambient utterance; nothing was written."""

    code = "ambient_permit_refused"


class StoreUnavailable(StoreError):  # noqa: N818 - the name the contract gives
    """The database is down, full or locked beyond the timeout; callers fail closed (no offer)."""

    code = "store_unavailable"


class NotFound(StoreError):  # noqa: N818 - the name the contract gives
    """A record that was asked for by id does not exist."""

    code = "not_found"


class ConflictError(StoreError):
    """A write that clashes with what is stored (a duplicate id, a constraint)."""

    code = "conflict"


class BadValueError(StoreError):
    """A value handed to the store or read back from it is not of the expected shape."""

    code = "bad_value"


class FieldTooLarge(BadValueError):  # noqa: N818 - pairs with AmbientTextRefused
    """A value longer than the store keeps (see ``store.limits``); nothing was written.

    The HTTP edge answers it with 422; ``field`` and ``limit`` say which field and how much fits.
    """

    code = "field_too_large"

    def __init__(self, message: str, *, field: str, limit: int, size: int) -> None:
        super().__init__(message)
        self.field = field
        self.limit = limit
        self.size = size


class ReadOnlyStore(StoreError):  # noqa: N818 - pairs with StoreUnavailable
    """A write to a store a maintenance command opened read-only."""

    code = "store_read_only"
