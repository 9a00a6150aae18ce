"""The install-time bundle check and ``tlsprov verify`` agree on what a strict client accepts."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from tlsprov.errors import LintError
from tlsprov.models import IssuedBundle
from tlsprov.pki.bundlecheck import check_bundle
from tlsprov.pki.verify import verify_endpoint


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _without(cert: x509.Certificate, key: Any, kind: type[x509.ExtensionType]) -> x509.Certificate:
    """``cert`` re-signed by ``key`` with the ``kind`` extension left out."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        if not isinstance(ext.value, kind):
            builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(key, hashes.SHA256())


def _handshake_ok(serve: Any, bundle: IssuedBundle, ca_pem: bytes) -> bool:
    server = serve(bundle)
    port = server.server_address[1]
    report = verify_endpoint("harbor.test", port, ca_pem=ca_pem, connect=("127.0.0.1", port))
    return next(c for c in report.checks if c.name == "handshake").ok


def test_a_leaf_without_authority_key_identifier_is_refused_as_verify_would(ca, kit, serve) -> None:
    # issue 11 item 14: install accepted it, then 'tlsprov verify' rejected the handshake
    good = ca.bundle(["harbor.test"])
    assert check_bundle(good, host="harbor.test") == []
    assert _handshake_ok(serve, good, ca.pem)

    key, leaf = ca.leaf(["harbor.test"])
    bare = _without(leaf, ca.key, x509.AuthorityKeyIdentifier)
    bundle = IssuedBundle(private_key_pem=kit.key_pem(key), leaf_pem=_pem(bare), ca_pem=ca.pem)
    assert not _handshake_ok(serve, bundle, ca.pem)
    with pytest.raises(LintError) as info:
        check_bundle(bundle, host="harbor.test")
    line = info.value.one_line()
    assert "authorityKeyIdentifier" in line and "strict" in line


def test_a_ca_without_subject_key_identifier_is_refused_as_verify_would(ca, kit, serve) -> None:
    # issue 11 item 14, the CA side of the same strict rule
    bare_ca = _without(ca.cert, ca.key, x509.SubjectKeyIdentifier)
    key, leaf = ca.leaf(["harbor.test"])
    bundle = IssuedBundle(
        private_key_pem=kit.key_pem(key), leaf_pem=_pem(leaf), ca_pem=_pem(bare_ca)
    )
    assert not _handshake_ok(serve, bundle, _pem(bare_ca))
    with pytest.raises(LintError) as info:
        check_bundle(bundle, host="harbor.test")
    assert "subjectKeyIdentifier" in info.value.one_line()


def test_check_bundle_names_a_chain_in_the_wrong_order(ca) -> None:
    # issue 11 item 24, for library callers: the leaf came after its issuer
    inter = ca.intermediate()
    good = inter.bundle(["harbor.test"], chain=[inter], ca_pem=ca.pem)
    swapped = IssuedBundle(
        private_key_pem=good.private_key_pem,
        leaf_pem=good.chain_pem[0],
        chain_pem=(good.leaf_pem,),
        ca_pem=ca.pem,
    )
    with pytest.raises(LintError) as info:
        check_bundle(swapped, host="harbor.test")
    assert "wrong order" in info.value.one_line()
    assert "does not match" not in info.value.one_line()


@pytest.fixture
def plain_http() -> Any:
    """A plain-HTTP server on 127.0.0.1 (what Harbor's port 80 is); yields its port."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_verify_against_a_plain_http_port_says_so(ca, plain_http, tmp_path, capsys) -> None:
    # issue 11 item 27: the handshake error did not say the port speaks HTTP
    from tlsprov.cli import main

    report = verify_endpoint(
        "harbor.test", plain_http, ca_pem=ca.pem, connect=("127.0.0.1", plain_http), timeout=5
    )
    handshake = next(c for c in report.checks if c.name == "handshake")
    assert not handshake.ok
    assert "speaks plain HTTP, not TLS" in handshake.detail
    ca_file = tmp_path / "ca.crt"
    ca_file.write_bytes(ca.pem)
    code = main(
        ["verify", f"harbor.test:{plain_http}", "--ca", str(ca_file), "--connect",
         f"127.0.0.1:{plain_http}", "--timeout", "5"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("FAILED:") and "speaks plain HTTP" in out.splitlines()[0]
