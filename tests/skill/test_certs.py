"""Certificate fetching over real loopback HTTP, from files, trust roots and the cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from askfirst.skill.alexa.certs import (
    MAX_CHAIN_BYTES,
    CertificateCache,
    ChainValidator,
    SigningCertificate,
    http_fetcher,
    load_trust_roots,
    parse_chain,
)
from askfirst.skill.api.app import file_fetcher
from askfirst.skill.errors import VerificationError
from tests.skill.ca import TestCA, test_ca


class _ChainHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ca = test_ca()
        if self.path == "/echo.api/chain.pem":
            self._send(200, ca.chain_pem)
        elif self.path == "/echo.api/huge.pem":
            self._send(200, b"A" * (MAX_CHAIN_BYTES + 10))
        elif self.path == "/echo.api/moved.pem":
            self.send_response(302)
            self.send_header("Location", "/echo.api/chain.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(404, b"not here")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-pem-file")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ChainHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_http_fetcher_downloads_the_chain(server: str) -> None:
    assert http_fetcher()(f"{server}/echo.api/chain.pem") == test_ca().chain_pem


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/echo.api/missing.pem", "expected HTTP 200, got 404"),
        ("/echo.api/moved.pem", "expected HTTP 200, got 302"),
        ("/echo.api/huge.pem", f"expected at most {MAX_CHAIN_BYTES} bytes"),
    ],
)
def test_http_fetcher_refuses_bad_answers(server: str, path: str, problem: str) -> None:
    with pytest.raises(VerificationError) as info:
        http_fetcher()(f"{server}{path}")
    assert problem in info.value.message


def test_http_fetcher_reports_an_unreachable_host() -> None:
    with pytest.raises(VerificationError, match="download failed: ConnectionError"):
        http_fetcher(timeout=2.0)("http://127.0.0.1:9/echo.api/chain.pem")


def test_file_fetcher_serves_configured_files_by_their_normalised_url(tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_bytes(test_ca().chain_pem)
    fetch = file_fetcher(
        {
            "https://s3.amazonaws.com:443/echo.api/../echo.api/chain.pem": chain,
            "https://s3.amazonaws.com/echo.api/gone.pem": tmp_path / "gone.pem",
        }
    )
    assert fetch("https://s3.amazonaws.com/echo.api/chain.pem") == test_ca().chain_pem
    with pytest.raises(VerificationError, match="expected one of"):
        fetch("https://s3.amazonaws.com/echo.api/other.pem")
    with pytest.raises(VerificationError, match="cannot read"):
        fetch("https://s3.amazonaws.com/echo.api/gone.pem")


def test_file_fetcher_keys_obey_the_url_rules(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match=r"expected host 's3\.amazonaws\.com'"):
        file_fetcher({"https://evil.example/echo.api/chain.pem": tmp_path / "chain.pem"})


def test_the_os_trust_store_holds_amazons_root() -> None:
    subjects = {root.subject.rfc4514_string() for root in load_trust_roots()}
    assert "CN=Amazon Root CA 1,O=Amazon,C=US" in subjects


def test_trust_roots_from_a_file(tmp_path: Path) -> None:
    ca = test_ca()
    bundle = tmp_path / "roots.pem"
    bundle.write_bytes(ca.root_pem)
    assert load_trust_roots(bundle) == (ca.root,)
    bundle.write_text("not a certificate")
    with pytest.raises(VerificationError, match="expected PEM certificates"):
        load_trust_roots(bundle)
    with pytest.raises(VerificationError, match="cannot read"):
        load_trust_roots(tmp_path / "absent.pem")


def test_a_validator_needs_a_root() -> None:
    with pytest.raises(VerificationError, match="expected at least one root certificate, got 0"):
        ChainValidator.with_roots([])


def test_parse_chain_refuses_oversized_and_garbage_input() -> None:
    with pytest.raises(VerificationError, match=f"expected at most {MAX_CHAIN_BYTES} bytes"):
        parse_chain(b"x" * (MAX_CHAIN_BYTES + 1))
    with pytest.raises(VerificationError, match="expected PEM certificates"):
        parse_chain(b"\x00\x01binary")


def test_an_ec_signing_key_is_refused() -> None:
    ca = test_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(ca.leaf.subject)
        .issuer_name(ca.intermediate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca.leaf.not_valid_before_utc)
        .not_valid_after(ca.leaf.not_valid_after_utc)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("echo-api.amazon.com")]), critical=False
        )
        .sign(ca.intermediate_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.intermediate.public_bytes(
        serialization.Encoding.PEM
    )
    with pytest.raises(VerificationError, match="expected an RSA public key, got"):
        ChainValidator.with_roots([ca.root]).validate(chain, at=ca.now)


def _cert(ca: TestCA) -> SigningCertificate:
    return ChainValidator.with_roots([ca.root]).validate(ca.chain_pem, at=ca.now)


def test_cache_entries_expire_after_their_ttl() -> None:
    ca = test_ca()
    cache = CertificateCache(ttl=timedelta(hours=1))
    cache.put("u", _cert(ca), at=ca.now)
    assert cache.get("u", at=ca.now + timedelta(minutes=59)) is not None
    assert cache.get("u", at=ca.now + timedelta(hours=1)) is None
    assert len(cache) == 0


def test_cache_entries_expire_with_their_certificate() -> None:
    ca = test_ca()
    cert = _cert(ca)
    cache = CertificateCache(ttl=timedelta(days=10_000))
    cache.put("u", cert, at=ca.now)
    assert cache.get("u", at=cert.not_after - timedelta(seconds=1)) is cert
    assert cache.get("u", at=cert.not_after) is None


def test_cache_evicts_the_least_recently_used() -> None:
    ca = test_ca()
    cert = _cert(ca)
    cache = CertificateCache(max_entries=2)
    cache.put("a", cert, at=ca.now)
    cache.put("b", cert, at=ca.now)
    assert cache.get("a", at=ca.now) is cert  # "a" is now the most recent
    cache.put("c", cert, at=ca.now)
    assert cache.get("b", at=ca.now) is None
    assert cache.get("a", at=ca.now) is cert
    assert cache.get("c", at=ca.now) is cert


def test_a_validated_path_records_its_validity_window() -> None:
    ca = test_ca()
    cert = _cert(ca)
    assert [c.subject for c in cert.path] == [
        ca.leaf.subject,
        ca.intermediate.subject,
        ca.root.subject,
    ]
    assert cert.not_after == ca.leaf.not_valid_after_utc
    cert.check_valid_at(ca.now)
    with pytest.raises(VerificationError, match="expected a chain valid at"):
        cert.check_valid_at(cert.not_after + timedelta(seconds=1))
