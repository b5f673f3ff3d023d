"""A throwaway certificate authority for tests: root, intermediate, Alexa-like signing leaf.

Reused by the verifier, app and end-to-end tests::

    ca = test_ca()                                  # cached; valid from now-1d to now+365d
    body = json.dumps(envelope(application_id=SKILL_ID)).encode()
    headers = signed_headers(body, ca.leaf_key)     # SignatureCertChainUrl + Signature-256
    verifier = AlexaVerifier(
        skill_ids=frozenset({SKILL_ID}),
        fetcher=StaticFetcher({CERT_URL: ca.chain_pem}),
        trust_roots=[ca.root],
    )
    verifier.verify(headers=headers, body=body)
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from askfirst.skill.errors import VerificationError

SIGNING_DOMAIN = "echo-api.amazon.com"
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"
"""A certificate URL that passes every URL rule; serve ``TestCA.chain_pem`` under it."""
SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-000000000001"


@functools.cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key, generated once per label per process."""
    del label
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "askfirst test CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_cert(
    *,
    name: str,
    key: rsa.RSAPrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    subject = _name(name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        if issuer is not None
        else x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def make_leaf(
    *,
    issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey | None,
    key: rsa.RSAPrivateKey,
    dns_names: Sequence[str] = (SIGNING_DOMAIN,),
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """A signing certificate issued by ``issuer`` (self-signed when ``issuer`` is None)."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SIGNING_DOMAIN)])
    signer = issuer_key if issuer_key is not None else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def pem(*certs: x509.Certificate) -> bytes:
    """The certificates as one PEM chain, in the order given (leaf first)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


@dataclass(frozen=True)
class TestCA:
    """A root, an intermediate and a valid signing leaf with SAN echo-api.amazon.com."""

    __test__ = False  # not a pytest test class

    root: x509.Certificate
    root_key: rsa.RSAPrivateKey
    intermediate: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey
    leaf: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    now: datetime
    """The time the certificates were built around."""

    @property
    def chain_pem(self) -> bytes:
        """What Amazon serves at the certificate URL: leaf then intermediate."""
        return pem(self.leaf, self.intermediate)

    @property
    def root_pem(self) -> bytes:
        """The root to trust, e.g. as a server's trust-roots file."""
        return pem(self.root)

    def leaf_with(
        self,
        *,
        dns_names: Sequence[str] = (SIGNING_DOMAIN,),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        self_signed: bool = False,
    ) -> x509.Certificate:
        """Another leaf for ``leaf_key`` (wrong SAN, expired, not yet valid, self-signed...)."""
        return make_leaf(
            issuer=None if self_signed else self.intermediate,
            issuer_key=None if self_signed else self.intermediate_key,
            key=self.leaf_key,
            dns_names=dns_names,
            not_before=not_before or self.now - timedelta(days=1),
            not_after=not_after or self.now + timedelta(days=365),
        )


def make_ca(now: datetime, *, label: str = "test") -> TestCA:
    """A CA valid from ``now`` - 1 day; leaf valid to + 365 days, CAs to + 10 years.

    CAs with different ``label`` have different keys (keys are cached per label).
    """
    root_key = rsa_key(f"{label}-root")
    inter_key = rsa_key(f"{label}-intermediate")
    leaf_key = rsa_key(f"{label}-leaf")
    start, ca_end = now - timedelta(days=1), now + timedelta(days=3650)
    root = _ca_cert(
        name=f"askfirst {label} root",
        key=root_key,
        issuer=None,
        issuer_key=root_key,
        not_before=start,
        not_after=ca_end,
    )
    intermediate = _ca_cert(
        name=f"askfirst {label} intermediate",
        key=inter_key,
        issuer=root,
        issuer_key=root_key,
        not_before=start,
        not_after=ca_end,
    )
    leaf = make_leaf(
        issuer=intermediate,
        issuer_key=inter_key,
        key=leaf_key,
        not_before=start,
        not_after=now + timedelta(days=365),
    )
    return TestCA(root, root_key, intermediate, inter_key, leaf, leaf_key, now)


@functools.cache
def test_ca() -> TestCA:
    """The process-wide test CA, built around the current time."""
    return make_ca(datetime.now(UTC).replace(microsecond=0))


test_ca.__test__ = False  # type: ignore[attr-defined]


def sign(body: bytes, key: rsa.RSAPrivateKey) -> str:
    """The ``Signature-256`` header value for ``body``: base64 RSA PKCS#1 v1.5 SHA-256."""
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def signed_headers(
    body: bytes, key: rsa.RSAPrivateKey, *, cert_url: str = CERT_URL
) -> dict[str, str]:
    """Headers Alexa would send with ``body``, signed with ``key``."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "SignatureCertChainUrl": cert_url,
        "Signature-256": sign(body, key),
    }


def envelope(
    *,
    application_id: str = SKILL_ID,
    timestamp: datetime | None = None,
    request: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A minimal envelope (LaunchRequest unless ``request`` is given; its own timestamp wins)."""
    stamp = (timestamp or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    app = {"applicationId": application_id}
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": "amzn1.echo-api.session.test",
            "application": app,
            "user": {"userId": "amzn1.ask.account.TEST"},
        },
        "context": {
            "System": {
                "application": app,
                "user": {"userId": "amzn1.ask.account.TEST"},
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
            }
        },
        "request": {
            "timestamp": stamp,
            **(
                request
                or {
                    "type": "LaunchRequest",
                    "requestId": "amzn1.echo-api.request.test",
                    "locale": "en-US",
                }
            ),
        },
    }


@dataclass
class StaticFetcher:
    """A certificate fetcher serving fixed PEM bytes by URL; counts calls (for cache tests)."""

    chains: Mapping[str, bytes]
    calls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        try:
            return self.chains[url]
        except KeyError:
            raise VerificationError(
                f"certificate chain {url!r}: expected one of {sorted(self.chains)!r}"
            ) from None
