"""AlexaVerifier: URL rules, signatures, certificate chains, timestamps, application ids."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from askfirst.skill.alexa.certs import CertificateCache, ChainValidator, load_trust_roots
from askfirst.skill.alexa.verify import AlexaVerifier, normalize_cert_url
from askfirst.skill.errors import SkillError, VerificationError
from tests.skill.ca import (
    CERT_URL,
    SKILL_ID,
    StaticFetcher,
    TestCA,
    envelope,
    make_ca,
    pem,
    rsa_key,
    sign,
    signed_headers,
    test_ca,
)

REAL_CHAIN = Path(__file__).parents[1] / "data" / "alexa" / "echo-api-cert-7.pem"
"""Amazon's real echo-api signing chain (valid 2019-05-22 to 2020-05-15), kept in the repository."""
REAL_CHAIN_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-7.pem"
INSIDE_REAL_VALIDITY = datetime(2020, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def ca() -> TestCA:
    return test_ca()


def make_verifier(
    ca: TestCA,
    *,
    chain: bytes | None = None,
    clock: Callable[[], datetime] | None = None,
    fetcher: StaticFetcher | None = None,
    cache: CertificateCache | None = None,
) -> AlexaVerifier:
    return AlexaVerifier(
        skill_ids=frozenset({SKILL_ID}),
        fetcher=fetcher or StaticFetcher({CERT_URL: ca.chain_pem if chain is None else chain}),
        trust_roots=[ca.root],
        clock=clock or (lambda: ca.now),
        cache=CertificateCache() if cache is None else cache,
    )


def signed(ca: TestCA, env: dict[str, Any] | None = None) -> tuple[dict[str, str], bytes]:
    body = json.dumps(env if env is not None else envelope(timestamp=ca.now)).encode()
    return signed_headers(body, ca.leaf_key), body


def test_a_properly_signed_request_returns_its_envelope(ca: TestCA) -> None:
    headers, body = signed(ca)
    result = make_verifier(ca).verify(headers=headers, body=body)
    assert result == json.loads(body)
    assert result["request"]["type"] == "LaunchRequest"


def test_header_names_are_case_insensitive(ca: TestCA) -> None:
    headers, body = signed(ca)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert make_verifier(ca).verify(headers=lowered, body=body)["version"] == "1.0"


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        (
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/echo.api/./sub/../echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
        (
            "https://s3.amazonaws.com/%65cho.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        ),
    ],
)
def test_valid_certificate_urls_are_normalised(url: str, normalized: str) -> None:
    assert normalize_cert_url(url) == normalized


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "expected scheme 'https', got 'http'",
        ),
        ("https://notamazon.com/echo.api/echo-api-cert.pem", "expected host 's3.amazonaws.com'"),
        ("https://s3.amazonaws.com.evil.com/echo.api/echo-api-cert.pem", "expected host"),
        ("https://evil.com/s3.amazonaws.com/echo.api/echo-api-cert.pem", "expected host"),
        (
            "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
            "got '/EcHo.aPi/echo-api-cert.pem'",
        ),
        ("https://s3.amazonaws.com/invalid.path/echo-api-cert.pem", "expected a path starting"),
        ("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem", "expected port 443, got 563"),
        (
            "https://s3.amazonaws.com/echo.api/../invalid.path/cert.pem",
            "got '/invalid.path/cert.pem'",
        ),
        ("https://s3.amazonaws.com/echo.api/%2E%2E/cert.pem", "got '/cert.pem'"),
        ("https://s3.amazonaws.com/echo.api/..%2Fcert.pem", "without escaped or back slashes"),
        ("https://s3.amazonaws.com/echo.api/..\\cert.pem", "without escaped or back slashes"),
        ("https://s3.amazonaws.com/echo.api", "got '/echo.api'"),
        ("https://s3.amazonaws.com", "got '/'"),
        ("https://evil@s3.amazonaws.com/echo.api/cert.pem", "expected no user info"),
        ("https://s3.amazonaws.com:abc/echo.api/cert.pem", "expected a URL"),
        ("//s3.amazonaws.com/echo.api/cert.pem", "expected scheme 'https', got ''"),
        ("ftp://s3.amazonaws.com/echo.api/cert.pem", "expected scheme"),
        ("https://s3.amazonaws.com/echo.api/\u00e9.pem", "printable ASCII"),
        ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem?1", "expected no query"),
        ("https://s3.amazonaws.com/echo.api/echo-api-cert.pem#x", "or fragment"),
    ],
)
def test_bad_certificate_urls_are_refused_before_any_fetch(
    ca: TestCA, url: str, problem: str
) -> None:
    with pytest.raises(VerificationError, match="SignatureCertChainUrl") as info:
        normalize_cert_url(url)
    assert problem in info.value.message

    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    _, body = signed(ca)
    headers = signed_headers(body, ca.leaf_key, cert_url=url)
    with pytest.raises(VerificationError, match="SignatureCertChainUrl"):
        make_verifier(ca, fetcher=fetcher).verify(headers=headers, body=body)
    assert fetcher.calls == []


def test_the_fetch_uses_the_normalised_url(ca: TestCA) -> None:
    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    _, body = signed(ca)
    url = CERT_URL.replace("/echo.api/", "/echo.api/../echo.api/").replace("https", "HTTPS")
    make_verifier(ca, fetcher=fetcher).verify(
        headers=signed_headers(body, ca.leaf_key, cert_url=url), body=body
    )
    assert fetcher.calls == [CERT_URL]


@pytest.mark.parametrize("missing", ["SignatureCertChainUrl", "Signature-256"])
def test_missing_headers_are_named(ca: TestCA, missing: str) -> None:
    headers, body = signed(ca)
    del headers[missing]
    with pytest.raises(VerificationError, match=f"header '{missing}': expected it"):
        make_verifier(ca).verify(headers=headers, body=body)


def test_the_legacy_sha1_signature_header_alone_is_not_enough(ca: TestCA) -> None:
    headers, body = signed(ca)
    headers["Signature"] = headers.pop("Signature-256")
    with pytest.raises(VerificationError, match="'Signature-256'"):
        make_verifier(ca).verify(headers=headers, body=body)


def _tampered(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return headers, body.replace(b"LaunchRequest", b"LaunchRequesT")


def _wrong_key(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Signature-256": sign(body, rsa_key("intruder"))}, body


def _not_base64(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Signature-256": "not base64 at all!"}, body


def _empty(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Signature-256": ""}, body


def _truncated(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Signature-256": headers["Signature-256"][:-8]}, body


def _bad_padding(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    return {**headers, "Signature-256": headers["Signature-256"][:-2]}, body


def _reencoded(ca: TestCA, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
    # Same JSON, different bytes: the signature covers the raw body, not its meaning.
    return headers, json.dumps(json.loads(body), indent=2).encode()


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (_tampered, "does not match"),
        (_wrong_key, "does not match"),
        (_not_base64, "expected base64"),
        (_empty, "expected a value"),
        (_truncated, "does not match"),
        (_bad_padding, "expected base64"),
        (_reencoded, "does not match"),
    ],
)
def test_bad_signatures_are_refused(
    ca: TestCA,
    spoil: Callable[[TestCA, dict[str, str], bytes], tuple[dict[str, str], bytes]],
    problem: str,
) -> None:
    headers, body = spoil(ca, *signed(ca))
    with pytest.raises(VerificationError, match="Signature-256") as info:
        make_verifier(ca).verify(headers=headers, body=body)
    assert problem in info.value.message


def _chain(ca: TestCA, kind: str) -> bytes:
    day = timedelta(days=1)
    other = make_ca(ca.now, label="other")
    chains = {
        "wrong_san": pem(ca.leaf_with(dns_names=("echo-api.example.com",)), ca.intermediate),
        "no_san": pem(ca.leaf_with(dns_names=()), ca.intermediate),
        "expired": pem(
            ca.leaf_with(not_before=ca.now - 30 * day, not_after=ca.now - day), ca.intermediate
        ),
        "not_yet_valid": pem(
            ca.leaf_with(not_before=ca.now + day, not_after=ca.now + 30 * day), ca.intermediate
        ),
        "self_signed": pem(ca.leaf_with(self_signed=True)),
        "missing_intermediate": pem(ca.leaf),
        "untrusted_root": pem(
            other.leaf_with(), other.intermediate
        ),  # signed by other's intermediate, but for our leaf key
        "garbage": b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
        "empty": b"",
    }
    return chains[kind]


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("wrong_san", "expected subject alternative name 'echo-api.amazon.com', got"),
        ("no_san", "got []"),
        ("expired", "expected validity at"),
        ("not_yet_valid", "expected validity at"),
        ("self_signed", "expected a path to a trusted root"),
        ("missing_intermediate", "expected a path to a trusted root"),
        ("untrusted_root", "expected a path to a trusted root"),
        ("garbage", "expected PEM certificates"),
        ("empty", "expected PEM certificates"),
    ],
)
def test_bad_certificate_chains_are_refused(ca: TestCA, kind: str, problem: str) -> None:
    headers, body = signed(ca)
    with pytest.raises(VerificationError) as info:
        make_verifier(ca, chain=_chain(ca, kind)).verify(headers=headers, body=body)
    assert problem in info.value.message


def test_a_fetch_failure_is_a_verification_error(ca: TestCA) -> None:
    def broken(url: str) -> bytes:
        raise ConnectionError(f"cannot reach {url}")

    headers, body = signed(ca)
    verifier = AlexaVerifier(
        skill_ids=frozenset({SKILL_ID}), fetcher=broken, trust_roots=[ca.root], clock=lambda: ca.now
    )
    with pytest.raises(VerificationError, match="fetch failed: ConnectionError"):
        verifier.verify(headers=headers, body=body)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(0), True),
        (timedelta(seconds=-150), True),
        (timedelta(seconds=150), True),
        (timedelta(seconds=-151), False),
        (timedelta(seconds=151), False),
        (timedelta(days=-400), False),
    ],
)
def test_timestamp_must_be_within_150_seconds_either_way(
    ca: TestCA, offset: timedelta, ok: bool
) -> None:
    headers, body = signed(ca, envelope(timestamp=ca.now + offset))
    verifier = make_verifier(ca)
    if ok:
        assert verifier.verify(headers=headers, body=body)["request"]["type"] == "LaunchRequest"
    else:
        with pytest.raises(VerificationError, match=r"request\.timestamp: expected within 150 s"):
            verifier.verify(headers=headers, body=body)


@pytest.mark.parametrize(
    ("timestamp", "problem"),
    [
        (None, "expected an ISO 8601 string, got None"),
        (1590000000000, "expected an ISO 8601 string, got 1590000000000"),
        ("yesterday", "expected an ISO 8601 string, got 'yesterday'"),
        ("0001-01-01T00:00:00+23:00", "expected within 150 s"),
    ],
)
def test_malformed_timestamps_are_refused(ca: TestCA, timestamp: object, problem: str) -> None:
    env = envelope(timestamp=ca.now)
    env["request"]["timestamp"] = timestamp
    headers, body = signed(ca, env)
    with pytest.raises(VerificationError, match=r"request\.timestamp") as info:
        make_verifier(ca).verify(headers=headers, body=body)
    assert problem in info.value.message


def test_a_timestamp_without_zone_is_read_as_utc(ca: TestCA) -> None:
    env = envelope(timestamp=ca.now)
    env["request"]["timestamp"] = ca.now.replace(tzinfo=None).isoformat()
    headers, body = signed(ca, env)
    assert make_verifier(ca).verify(headers=headers, body=body)["version"] == "1.0"


def test_a_wrong_application_id_is_refused(ca: TestCA) -> None:
    headers, body = signed(
        ca, envelope(application_id="amzn1.ask.skill.someone-else", timestamp=ca.now)
    )
    with pytest.raises(VerificationError, match="applicationId: expected one of") as info:
        make_verifier(ca).verify(headers=headers, body=body)
    assert "'amzn1.ask.skill.someone-else'" in info.value.message


@pytest.mark.parametrize("where", ["session", "context"])
def test_the_application_id_may_come_from_session_or_context(ca: TestCA, where: str) -> None:
    env = envelope(timestamp=ca.now)
    if where == "session":
        del env["context"]
    else:
        del env["session"]
    headers, body = signed(ca, env)
    assert make_verifier(ca).verify(headers=headers, body=body)["version"] == "1.0"


@pytest.mark.parametrize("app_id", [None, ["amzn1"], {"id": SKILL_ID}, 7])
def test_missing_or_odd_application_ids_are_refused(ca: TestCA, app_id: object) -> None:
    env = envelope(timestamp=ca.now)
    del env["session"]
    env["context"]["System"]["application"]["applicationId"] = app_id
    headers, body = signed(ca, env)
    with pytest.raises(VerificationError, match="applicationId"):
        make_verifier(ca).verify(headers=headers, body=body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "invalid JSON"),
        (b"[1, 2]", "got 'list'"),
        (b"\xff\xfe\x00", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[" * 100_000, "invalid JSON"),
        (b'{"request": 3}', "request: expected a JSON object, got 3"),
    ],
)
def test_signed_bodies_that_are_not_envelopes_are_refused(
    ca: TestCA, body: bytes, problem: str
) -> None:
    headers = signed_headers(body, ca.leaf_key)
    with pytest.raises(VerificationError) as info:
        make_verifier(ca).verify(headers=headers, body=body)
    assert problem in info.value.message


def test_certificates_are_cached_by_url(ca: TestCA) -> None:
    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    verifier = make_verifier(ca, fetcher=fetcher)
    for _ in range(3):
        headers, body = signed(ca)
        verifier.verify(headers=headers, body=body)
    assert fetcher.calls == [CERT_URL]


def test_a_cache_hit_is_rechecked_at_the_current_time(ca: TestCA) -> None:
    now = [ca.now]
    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    verifier = make_verifier(ca, fetcher=fetcher, clock=lambda: now[0])
    headers, body = signed(ca)
    verifier.verify(headers=headers, body=body)
    now[0] = ca.leaf.not_valid_before_utc - timedelta(hours=1)  # before the leaf was valid
    headers, body = signed(ca, envelope(timestamp=now[0]))
    with pytest.raises(VerificationError, match="expected a chain valid at"):
        verifier.verify(headers=headers, body=body)
    assert fetcher.calls == [CERT_URL]


def test_an_expired_cache_entry_is_fetched_again_and_refused(ca: TestCA) -> None:
    now = [ca.now]
    fetcher = StaticFetcher({CERT_URL: ca.chain_pem})
    verifier = make_verifier(ca, fetcher=fetcher, clock=lambda: now[0])
    headers, body = signed(ca)
    verifier.verify(headers=headers, body=body)
    now[0] = ca.leaf.not_valid_after_utc + timedelta(seconds=1)
    headers, body = signed(ca, envelope(timestamp=now[0]))
    with pytest.raises(VerificationError, match="expected validity at"):
        verifier.verify(headers=headers, body=body)
    assert fetcher.calls == [CERT_URL, CERT_URL]


def test_the_cache_is_bounded(ca: TestCA) -> None:
    urls = [CERT_URL.replace("test.pem", f"{i}.pem") for i in range(3)]
    fetcher = StaticFetcher(dict.fromkeys(urls, ca.chain_pem))
    cache = CertificateCache(max_entries=2)
    verifier = make_verifier(ca, fetcher=fetcher, cache=cache)
    _, body = signed(ca)
    for url in [*urls, urls[0]]:
        verifier.verify(headers=signed_headers(body, ca.leaf_key, cert_url=url), body=body)
    assert len(cache) == 2
    assert fetcher.calls == [*urls, urls[0]]  # the oldest was evicted, so fetched again


def test_a_verifier_needs_a_skill_id(ca: TestCA) -> None:
    with pytest.raises(SkillError, match="expected at least one non-empty skill id"):
        AlexaVerifier(skill_ids=frozenset(), fetcher=StaticFetcher({}), trust_roots=[ca.root])


def _real_chain() -> bytes:
    return REAL_CHAIN.read_bytes()  # in the repository: a missing file fails, never skips


def test_amazons_real_chain_validates_to_the_os_root_at_a_pinned_time() -> None:
    validator = ChainValidator.with_roots(load_trust_roots())
    cert = validator.validate(_real_chain(), at=INSIDE_REAL_VALIDITY)
    assert cert.leaf.subject.rfc4514_string() == "CN=echo-api.amazon.com"
    assert [c.subject.rfc4514_string() for c in cert.path] == [
        "CN=echo-api.amazon.com",
        "CN=Amazon,OU=Server CA 1B,O=Amazon,C=US",
        "CN=Amazon Root CA 1,O=Amazon,C=US",
    ]


def test_amazons_real_chain_passes_every_check_but_a_forged_signature() -> None:
    chain = _real_chain()
    verifier = AlexaVerifier(
        skill_ids=frozenset({SKILL_ID}),
        fetcher=StaticFetcher({REAL_CHAIN_URL: chain}),
        clock=lambda: INSIDE_REAL_VALIDITY,
    )
    body = json.dumps(envelope(timestamp=INSIDE_REAL_VALIDITY)).encode()
    headers = signed_headers(body, rsa_key("intruder"), cert_url=REAL_CHAIN_URL)
    with pytest.raises(VerificationError, match="Signature-256: expected an RSA SHA-256 signature"):
        verifier.verify(headers=headers, body=body)


def test_amazons_real_chain_is_refused_as_expired_today() -> None:
    validator = ChainValidator.with_roots(load_trust_roots())
    with pytest.raises(VerificationError, match="signing certificate: expected validity at"):
        validator.validate(_real_chain(), at=datetime.now(UTC))


def test_amazons_real_chain_is_refused_without_its_root() -> None:
    validator = ChainValidator.with_roots([test_ca().root])
    with pytest.raises(VerificationError, match="expected a path to a trusted root"):
        validator.validate(_real_chain(), at=INSIDE_REAL_VALIDITY)


HEADER_NAMES = st.sampled_from(["SignatureCertChainUrl", "Signature-256", "Signature", "X-Other"])
URLS = st.one_of(
    st.just(CERT_URL),
    st.text(max_size=80),
    st.builds(lambda s: "https://s3.amazonaws.com/echo.api/" + s, st.text(max_size=30)),
)
HEADER_VALUES = st.one_of(
    URLS,
    st.text(max_size=400),
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode("ascii")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.dictionaries(st.one_of(HEADER_NAMES, st.text(max_size=20)), HEADER_VALUES),
    body=st.binary(max_size=300),
)
def test_fuzz_arbitrary_requests_verify_or_raise_verification_error(
    headers: dict[str, str], body: bytes
) -> None:
    verifier = make_verifier(test_ca())
    try:
        result = verifier.verify(headers=headers, body=body)
    except VerificationError as exc:
        assert exc.message
    else:
        assert isinstance(result, dict)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=st.dictionaries(
        st.sampled_from(["type", "timestamp", "requestId"]),
        st.one_of(
            JSON, st.builds(lambda: envelope(timestamp=test_ca().now)["request"]["timestamp"])
        ),
    ),
    session=st.one_of(JSON, st.builds(lambda: envelope()["session"])),
    context=st.one_of(JSON, st.builds(lambda: envelope()["context"])),
    extra=st.dictionaries(st.text(max_size=8), JSON, max_size=3),
)
def test_fuzz_validly_signed_odd_envelopes_verify_or_raise_verification_error(
    request: dict[str, Any], session: object, context: object, extra: dict[str, Any]
) -> None:
    ca = test_ca()
    body = json.dumps(
        {**extra, "request": request, "session": session, "context": context}
    ).encode()
    try:
        result = make_verifier(ca).verify(headers=signed_headers(body, ca.leaf_key), body=body)
    except VerificationError as exc:
        assert exc.message
    else:
        assert result["request"] == request
