"""The turn layer's exception root: an HTTP status, a stable code and a message for the caller."""

from __future__ import annotations


class TurnError(Exception):
    """Root of errors a turn refuses with; every edge turns one into its own reply.

    ``status`` is the HTTP status an HTTP edge answers with; ``code`` is stable and
    machine-readable; ``message`` says what was expected and what arrived.
    """

    status: int = 400
    code: str = "bad_request"
    retry_after: float | None = None
    """Seconds after which a retry may succeed (a busy server's 429 or 503 says so)."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, dict[str, str]]:
        """The body every error response carries: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}
