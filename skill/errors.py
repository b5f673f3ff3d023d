"""The skill package's exception root; every error that reaches a caller is one of these."""

from __future__ import annotations


class SkillError(Exception):
    """Root of ``skill`` errors: an HTTP status, a stable code and a message for the caller."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_json(self) -> dict[str, dict[str, str]]:
        """The body every error response carries: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class VerificationError(SkillError):
    """An Alexa request that failed signature, certificate, timestamp or application-id checks."""

    status = 400
    code = "alexa_verification_failed"
