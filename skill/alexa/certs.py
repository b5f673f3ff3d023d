"""Alexa signing certificates: fetching the PEM chain, trust roots, chain validation, caching."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification

from askfirst.skill.errors import SkillError, VerificationError

logger = logging.getLogger(__name__)

SIGNING_DOMAIN = "echo-api.amazon.com"
"""The DNS name Amazon's signing certificate must carry in its subject alternative names."""
MAX_CHAIN_BYTES = 64 * 1024
"""A certificate chain larger than this is refused (Amazon's is about 7 KB)."""
OS_TRUST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class CertificateFetcher(Protocol):
    """Returns the PEM certificate chain published at ``url``; raises VerificationError."""

    def __call__(self, url: str) -> bytes: ...


def http_fetcher(timeout: float = 5.0, *, max_bytes: int = MAX_CHAIN_BYTES) -> CertificateFetcher:
    """A fetcher that downloads the chain over HTTP(S) with ``requests``, size-limited."""
    session = requests.Session()

    def fetch(url: str) -> bytes:
        try:
            with session.get(url, timeout=timeout, stream=True, allow_redirects=False) as resp:
                if resp.status_code != 200:
                    raise VerificationError(
                        f"certificate chain {url!r}: expected HTTP 200, got {resp.status_code}"
                    )
                body = bytearray()
                for chunk in resp.iter_content(chunk_size=16 * 1024):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise VerificationError(
                            f"certificate chain {url!r}: expected at most {max_bytes} bytes, "
                            f"got more"
                        )
                return bytes(body)
        except requests.RequestException as exc:
            raise VerificationError(
                f"certificate chain {url!r}: download failed: {type(exc).__name__}: {exc}"
            ) from exc

    return fetch


def load_trust_roots(path: Path | None = None) -> tuple[x509.Certificate, ...]:
    """The trusted root certificates: a PEM bundle, else the OS bundle, else certifi's."""
    if path is None:
        path = OS_TRUST_BUNDLE
        if not path.is_file():
            import certifi

            path = Path(certifi.where())
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerificationError(f"trust roots: cannot read {str(path)!r}: {exc}") from exc
    with warnings.catch_warnings():
        # OS bundles contain a few legacy roots (e.g. a non-positive serial number).
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            roots = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise VerificationError(
                f"trust roots: expected PEM certificates in {str(path)!r}: {exc}"
            ) from exc
    return tuple(roots)


def parse_chain(pem: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM chain, signing (leaf) certificate first."""
    if len(pem) > MAX_CHAIN_BYTES:
        raise VerificationError(
            f"certificate chain: expected at most {MAX_CHAIN_BYTES} bytes, got {len(pem)}"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            certs = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise VerificationError(
                f"certificate chain: expected PEM certificates, got {pem[:40]!r}...: {exc}"
            ) from exc
    return certs


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    except ValueError:
        return []
    return [str(name) for name in san.get_values_for_type(x509.DNSName)]


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """A signing certificate whose chain was validated, with the window the whole path is valid."""

    leaf: x509.Certificate
    public_key: rsa.RSAPublicKey
    path: tuple[x509.Certificate, ...]
    """The validated path, leaf first, ending at the trusted root."""
    not_before: datetime
    """The latest not-before date along the validated path."""
    not_after: datetime
    """The earliest not-after date along the validated path."""

    def check_valid_at(self, at: datetime) -> None:
        """Raise VerificationError unless every certificate on the path is valid at ``at``."""
        if not self.not_before <= at <= self.not_after:
            raise VerificationError(
                f"signing certificate: expected a chain valid at {at.isoformat()}, "
                f"got one valid from {self.not_before.isoformat()} "
                f"to {self.not_after.isoformat()}"
            )


@dataclass(frozen=True, slots=True)
class ChainValidator:
    """Validates a PEM chain to a trusted root for the Alexa signing domain."""

    store: verification.Store

    @classmethod
    def with_roots(cls, roots: Sequence[x509.Certificate]) -> ChainValidator:
        if not roots:
            raise VerificationError("trust roots: expected at least one root certificate, got 0")
        return cls(store=verification.Store(list(roots)))

    def validate(self, pem: bytes, *, at: datetime) -> SigningCertificate:
        """Parse ``pem`` and validate it at ``at``; every failure is a VerificationError."""
        certs = parse_chain(pem)
        if not certs:
            raise VerificationError("certificate chain: expected at least one certificate, got 0")
        leaf, intermediates = certs[0], certs[1:]
        names = _names(leaf)
        if SIGNING_DOMAIN not in names:
            raise VerificationError(
                f"signing certificate: expected subject alternative name {SIGNING_DOMAIN!r}, "
                f"got {names!r}"
            )
        if not leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc:
            raise VerificationError(
                f"signing certificate: expected validity at {at.isoformat()}, got "
                f"{leaf.not_valid_before_utc.isoformat()} to {leaf.not_valid_after_utc.isoformat()}"
            )
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise VerificationError(
                f"signing certificate: expected an RSA public key, got {type(key).__name__!r}"
            )
        verifier = (
            verification.PolicyBuilder()
            .store(self.store)
            .time(at)
            .build_server_verifier(x509.DNSName(SIGNING_DOMAIN))
        )
        try:
            path = verifier.verify(leaf, intermediates)
        except verification.VerificationError as exc:
            raise VerificationError(
                f"certificate chain: expected a path to a trusted root valid at "
                f"{at.isoformat()}, got: {exc}"
            ) from exc
        return SigningCertificate(
            leaf=leaf,
            public_key=key,
            path=tuple(path),
            not_before=max(cert.not_valid_before_utc for cert in path),
            not_after=min(cert.not_valid_after_utc for cert in path),
        )


@dataclass
class CertificateCache:
    """Validated signing certificates by normalised URL: bounded (LRU) and expiry-aware.

    An entry lives until its path expires or ``ttl`` has passed since it was fetched, whichever
    is first; a hit is still checked against the time it is used at.
    """

    max_entries: int = 32
    ttl: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[str, tuple[SigningCertificate, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str, *, at: datetime) -> SigningCertificate | None:
        with self._lock:
            entry = self._entries.get(url)
            if entry is None:
                return None
            cert, expires = entry
            if at >= expires:
                del self._entries[url]
                return None
            self._entries.move_to_end(url)
            return cert

    def put(self, url: str, cert: SigningCertificate, *, at: datetime) -> None:
        with self._lock:
            self._entries[url] = (cert, min(cert.not_after, at + self.ttl))
            self._entries.move_to_end(url)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class GuardedFetcher:
    """A fetcher that remembers failures briefly and runs only a few fetches at once.

    Every request naming a new certificate URL costs an outbound fetch; without a guard, a
    stream of forged requests with fresh (or unreachable) URLs turns the server into a client
    of whoever names them. A URL whose fetch failed is refused from memory for
    ``failure_seconds``; a fetch that would exceed ``max_concurrent`` is refused at once with
    a 503 and ``Retry-After`` instead of waiting for a thread.
    """

    def __init__(
        self,
        fetcher: CertificateFetcher,
        *,
        failure_seconds: float = 60.0,
        max_concurrent: int = 2,
        max_failures: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._failure_seconds = failure_seconds
        self._max_failures = max_failures
        self._clock = clock
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __call__(self, url: str) -> bytes:
        remembered = self._failure(url)
        if remembered is not None:
            raise VerificationError(f"{remembered} (remembered; not fetched again yet)")
        if not self._slots.acquire(blocking=False):
            raise SkillError(
                f"certificate chain {url!r}: expected at most {self._max_concurrent} fetches "
                "at once, got another; retry after the time in Retry-After",
                code="certificate_fetch_busy",
                status=503,
                retry_after=1,
            )
        try:
            return self._fetcher(url)
        except SkillError as exc:
            self._remember(url, exc.message)
            raise
        except (OSError, ValueError) as exc:
            message = f"certificate chain {url!r}: fetch failed: {type(exc).__name__}: {exc}"
            self._remember(url, message)
            raise VerificationError(message) from exc
        finally:
            self._slots.release()

    def _failure(self, url: str) -> str | None:
        with self._lock:
            entry = self._failures.get(url)
            if entry is None:
                return None
            until, message = entry
            if self._clock() >= until:
                del self._failures[url]
                return None
            return message

    def _remember(self, url: str, message: str) -> None:
        with self._lock:
            self._failures[url] = (self._clock() + self._failure_seconds, message)
            self._failures.move_to_end(url)
            while len(self._failures) > self._max_failures:
                self._failures.popitem(last=False)
