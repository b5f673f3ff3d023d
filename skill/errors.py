"""The edges' exception root; every error that reaches a caller is a ``TurnError``."""

from __future__ import annotations

from askfirst.turn.errors import TurnError


class SkillError(TurnError):
    """Root of errors raised by the edges (HTTP, Alexa, simulator, command line)."""


class VerificationError(SkillError):
    """An Alexa request that failed signature, certificate, timestamp or application-id checks."""

    status = 400
    code = "alexa_verification_failed"
