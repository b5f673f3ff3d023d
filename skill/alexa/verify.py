"""Alexa request verification: certificate URL, signature, chain, timestamp and application id.

Follows Amazon's "Host a custom skill as a web service" rules. Only the ``Signature-256``
header (RSA PKCS#1 v1.5 with SHA-256) is accepted; the legacy SHA-1 ``Signature`` header is
ignored. Every failure raises :class:`skill.errors.VerificationError` (HTTP 400).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from askfirst.skill.alexa.certs import (
    CertificateCache,
    CertificateFetcher,
    ChainValidator,
    GuardedFetcher,
    SigningCertificate,
    http_fetcher,
    load_trust_roots,
)
from askfirst.skill.errors import SkillError, VerificationError

__all__ = [
    "AlexaVerifier",
    "CertificateFetcher",
    "http_fetcher",
    "normalize_cert_url",
]

logger = logging.getLogger(__name__)

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
CERT_URL_SCHEME = "https"
CERT_URL_HOST = "s3.amazonaws.com"
CERT_URL_PATH_PREFIX = "/echo.api/"
CERT_URL_PORT = 443
MAX_SIGNATURE_CHARS = 2048

_UNRESERVED_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _decode_unreserved(path: str) -> str:
    """Decode percent-escapes of unreserved characters (RFC 3986 6.2.2.2), keep the rest."""

    def replace(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return _UNRESERVED_ESCAPE.sub(replace, path)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for an absolute path: resolve ``.`` and ``..``, keep a trailing slash."""
    normalized = posixpath.normpath(path)
    if normalized.startswith("//"):  # normpath keeps a leading double slash (POSIX rule)
        normalized = "/" + normalized.lstrip("/")
    if path.endswith(("/", "/.", "/..")) and not normalized.endswith("/"):
        normalized += "/"
    return normalized


def normalize_cert_url(url: str) -> str:
    """Check a ``SignatureCertChainUrl`` and return it normalised (the URL to fetch).

    Scheme and host compare case-insensitively, the port may only be 443, the path must
    start with ``/echo.api/`` (case-sensitively) after decoding escaped unreserved characters
    and resolving dot segments. Escaped slashes or backslashes and user info are refused.
    """
    if not url or len(url) > 2048 or not url.isprintable() or not url.isascii():
        raise VerificationError(
            f"{CERT_URL_HEADER}: expected a printable ASCII URL of at most 2048 characters, "
            f"got {url[:100]!r}"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise VerificationError(f"{CERT_URL_HEADER}: expected a URL, got {url!r}: {exc}") from exc
    if parts.scheme.lower() != CERT_URL_SCHEME:
        raise VerificationError(
            f"{CERT_URL_HEADER}: expected scheme {CERT_URL_SCHEME!r}, got {parts.scheme!r}"
        )
    host = (parts.hostname or "").lower()
    if host != CERT_URL_HOST:
        raise VerificationError(f"{CERT_URL_HEADER}: expected host {CERT_URL_HOST!r}, got {host!r}")
    if parts.username is not None or parts.password is not None:
        raise VerificationError(f"{CERT_URL_HEADER}: expected no user info, got {url!r}")
    if port is not None and port != CERT_URL_PORT:
        raise VerificationError(f"{CERT_URL_HEADER}: expected port {CERT_URL_PORT}, got {port!r}")
    decoded = _decode_unreserved(parts.path)
    if "\\" in decoded or re.search(r"%2F|%5C", decoded):
        raise VerificationError(
            f"{CERT_URL_HEADER}: expected a path without escaped or back slashes, "
            f"got {parts.path!r}"
        )
    path = _remove_dot_segments(decoded) if decoded else "/"
    if not path.startswith(CERT_URL_PATH_PREFIX):
        raise VerificationError(
            f"{CERT_URL_HEADER}: expected a path starting with {CERT_URL_PATH_PREFIX!r}, "
            f"got {path!r}"
        )
    if parts.query or parts.fragment:
        # Amazon's chain URLs carry neither; refusing them also keeps unauthenticated callers
        # from forcing a fresh certificate fetch per request with "?1", "?2", ...
        raise VerificationError(f"{CERT_URL_HEADER}: expected no query or fragment, got {url!r}")
    return f"{CERT_URL_SCHEME}://{CERT_URL_HOST}{path}"


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            if not isinstance(value, str) or not value.strip():
                raise VerificationError(f"header {name!r}: expected a value, got {value!r}")
            return value.strip()
    raise VerificationError(f"header {name!r}: expected it on an Alexa request, got none")


def _decode_signature(value: str) -> bytes:
    if len(value) > MAX_SIGNATURE_CHARS:
        raise VerificationError(
            f"{SIGNATURE_HEADER}: expected at most {MAX_SIGNATURE_CHARS} characters, "
            f"got {len(value)}"
        )
    try:
        signature = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise VerificationError(
            f"{SIGNATURE_HEADER}: expected base64, got {value[:60]!r}: {exc}"
        ) from exc
    if not signature:
        raise VerificationError(f"{SIGNATURE_HEADER}: expected a signature, got {value!r}")
    return signature


def _parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise VerificationError(
            f"request.timestamp: expected an ISO 8601 string, got {value!r:.80}"
        )
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError as exc:
        raise VerificationError(
            f"request.timestamp: expected an ISO 8601 string, got {value!r:.80}"
        ) from exc
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _application_id(envelope: Mapping[str, Any]) -> object:
    session = envelope.get("session")
    if isinstance(session, Mapping):
        application = session.get("application")
        if isinstance(application, Mapping) and "applicationId" in application:
            return application["applicationId"]
    context = envelope.get("context")
    if isinstance(context, Mapping):
        system = context.get("System")
        if isinstance(system, Mapping):
            application = system.get("application")
            if isinstance(application, Mapping) and "applicationId" in application:
                return application["applicationId"]
    return None


@dataclass
class AlexaVerifier:
    """Verifies Alexa requests; thread-safe, one per process (it caches certificates)."""

    skill_ids: frozenset[str]
    fetcher: CertificateFetcher
    trust_roots: Sequence[x509.Certificate] | None = None
    """None: the OS bundle (/etc/ssl/certs/ca-certificates.crt), else certifi's."""
    tolerance_seconds: int = 150
    clock: Callable[[], datetime] = _utc_now
    cache: CertificateCache = field(default_factory=CertificateCache)

    def __post_init__(self) -> None:
        if not self.skill_ids or not all(isinstance(s, str) and s for s in self.skill_ids):
            raise SkillError(
                f"Alexa verification: expected at least one non-empty skill id, "
                f"got {sorted(self.skill_ids, key=repr)!r}",
                code="configuration",
                status=500,
            )
        if not 0 < self.tolerance_seconds <= 3600:
            raise SkillError(
                f"Alexa verification: expected tolerance_seconds in 1..3600, "
                f"got {self.tolerance_seconds!r}",
                code="configuration",
                status=500,
            )
        roots = self.trust_roots if self.trust_roots is not None else load_trust_roots()
        self._validator = ChainValidator.with_roots(roots)
        self._fetch = GuardedFetcher(self.fetcher)

    def verify(self, *, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Verify a raw Alexa request and return its parsed JSON envelope."""
        if not isinstance(body, bytes | bytearray):
            raise VerificationError(f"body: expected bytes, got {type(body).__name__!r}")
        url = normalize_cert_url(_header(headers, CERT_URL_HEADER))
        signature = _decode_signature(_header(headers, SIGNATURE_HEADER))
        now = self.clock()
        # Cheap checks first: a request for another skill never costs an outbound fetch.
        claimed = self._parse(bytes(body))
        if _application_id(claimed) not in (None, *self.skill_ids):
            self._check_application(claimed)
        cert = self.signing_certificate(url, at=now)
        try:
            cert.public_key.verify(signature, bytes(body), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise VerificationError(
                f"{SIGNATURE_HEADER}: expected an RSA SHA-256 signature of the body by "
                f"{cert.leaf.subject.rfc4514_string()!r}, got one that does not match"
            ) from exc
        envelope = self._parse(bytes(body))
        self._check_timestamp(envelope, now=now)
        self._check_application(envelope)
        return envelope

    def signing_certificate(self, url: str, *, at: datetime) -> SigningCertificate:
        """The validated signing certificate for a normalised URL, from cache or fetched."""
        cached = self.cache.get(url, at=at)
        if cached is not None:
            cached.check_valid_at(at)
            return cached
        try:
            pem = self._fetch(url)
        except VerificationError:
            raise
        except SkillError as exc:
            if exc.status == 503:
                raise  # busy, not forged: the caller may retry
            raise VerificationError(exc.message) from exc
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"certificate chain {url!r}: fetch failed: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(pem, bytes):
            raise VerificationError(
                f"certificate chain {url!r}: expected PEM bytes, got {type(pem).__name__!r}"
            )
        cert = self._validator.validate(pem, at=at)
        self.cache.put(url, cert, at=at)
        logger.info("cached Alexa signing certificate from %s", url)
        return cert

    @staticmethod
    def _parse(body: bytes) -> dict[str, Any]:
        try:
            envelope = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise VerificationError(
                f"body: expected a JSON object, got invalid JSON: {exc}"
            ) from exc
        if not isinstance(envelope, dict):
            raise VerificationError(
                f"body: expected a JSON object, got {type(envelope).__name__!r}"
            )
        return envelope

    def _check_timestamp(self, envelope: Mapping[str, Any], *, now: datetime) -> None:
        request = envelope.get("request")
        if not isinstance(request, Mapping):
            raise VerificationError(f"request: expected a JSON object, got {request!r:.80}")
        stamp = _parse_timestamp(request.get("timestamp"))
        tolerance = timedelta(seconds=self.tolerance_seconds)
        try:
            skew = abs(now - stamp)
        except OverflowError:
            skew = timedelta.max
        if skew > tolerance:
            raise VerificationError(
                f"request.timestamp: expected within {self.tolerance_seconds} s of "
                f"{now.isoformat()}, got {stamp.isoformat()}"
            )

    def _check_application(self, envelope: Mapping[str, Any]) -> None:
        app_id = _application_id(envelope)
        if not isinstance(app_id, str) or app_id not in self.skill_ids:
            raise VerificationError(
                f"applicationId: expected one of {sorted(self.skill_ids)!r}, got {app_id!r:.120}"
            )
