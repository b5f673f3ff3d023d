"""Operator sign-in and CSRF protection for the console.

Signing in with one of ``ASKFIRST_CONSOLE_TOKENS`` puts the token's fingerprint (never the
token) in Flask's signed session cookie, which the app marks Secure, HttpOnly and
SameSite=Strict. Every request checks that fingerprint is still configured, so removing a token
signs its sessions out. Every form carries a per-session random CSRF token, compared with
``hmac.compare_digest``; it is replaced at sign-in, so a token planted before sign-in is useless.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, request, session
from pydantic import SecretStr

from askfirst.skill.errors import SkillError

SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
_OPERATOR = "operator"
_CSRF = "csrf"


class ConsoleError(SkillError):
    """A console request refused or unusable; shown as a page with its status."""

    code = "console_error"


def fingerprint(token: str) -> str:
    """What the session keeps of a token: a digest that cannot be turned back into it."""
    return hashlib.sha256(b"askfirst-console\0" + token.encode()).hexdigest()


class Operators:
    """The configured operator tokens, held as fingerprints."""

    def __init__(self, tokens: Iterable[SecretStr]) -> None:
        self._prints = tuple(fingerprint(t.get_secret_value()) for t in tokens)

    def match(self, token: str) -> str | None:
        """The fingerprint of ``token`` when it is configured (compared in constant time)."""
        given = fingerprint(token)
        found = False
        for known in self._prints:  # every one compared, so timing says nothing of which
            found |= hmac.compare_digest(given, known)
        return given if found else None

    def knows(self, print_: str) -> bool:
        return any(hmac.compare_digest(print_, known) for known in self._prints)


def configure_session(app: Flask, secret: SecretStr) -> None:
    """Sign console sessions with ``secret`` and keep the cookie to the console, secure."""
    app.secret_key = secret.get_secret_value()
    app.config.update(
        SESSION_COOKIE_NAME="askfirst_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def signed_in(operators: Operators) -> bool:
    """Whether this request's session belongs to a still-configured operator token."""
    print_ = session.get(_OPERATOR)
    return isinstance(print_, str) and operators.knows(print_)


def sign_in(print_: str) -> None:
    """Start a fresh session for the operator (a new CSRF token too)."""
    session.clear()
    session.permanent = True
    session[_OPERATOR] = print_
    session[_CSRF] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form needs one too)."""
    token = session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[_CSRF] = token
    return token


def check_csrf() -> None:
    """Refuse a POST whose form lacks this session's CSRF token, or that came from elsewhere."""
    expected = session.get(_CSRF)
    given = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not expected or not given:
        raise ConsoleError(
            f"expected the form's {CSRF_FIELD!r} field to match this session's, got "
            + ("no session" if not expected else "no token"),
            code="csrf_missing",
            status=403,
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ConsoleError(
            f"expected the form's {CSRF_FIELD!r} field to match this session's, got another",
            code="csrf_mismatch",
            status=403,
        )
    origin = request.headers.get("Origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.host:
        raise ConsoleError(
            f"expected a form posted from {request.host!r}, got one from {origin!r}",
            code="cross_origin",
            status=403,
        )
