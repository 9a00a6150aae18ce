"""Every kind of certificate tlsprov emits is accepted by the real verifiers.

Kinds: the selfsigned CA, server and client certificates for RSA 2048/3072/4096, EC P-256/P-384
and Ed25519 (server certificates with DNS and IP SANs), and a certificate issued by Pebble over
ACME. Verifiers: ``openssl verify -x509_strict`` (with the matching ``-purpose``), Python
``ssl`` with ``VERIFY_X509_STRICT`` in real handshakes (the client checking the server, and a
Python server checking a client certificate), skopeo (Go's crypto/x509) pushing through nginx
to docker-registry with mutual TLS, curl, and pkilint's RFC 5280 linter (``lint_pkix_cert``;
a CA made like the Harbor guide's is the negative control).
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tlsprov.testing import free_port

S = sys.modules["tlsprov_e2e_support"]
C = sys.modules["tlsprov_conformance_acme_harness"]
KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ec256", "ec384", "ed25519")
CA_TYPES = ("rsa4096", "ec256", "ec384", "ed25519")
TIMEOUT = 30

pytestmark = pytest.mark.e2e


def _run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def pkilint_errors(pem: bytes) -> list[str]:
    """ERROR and FATAL findings of pkilint's RFC 5280 certificate linter.

    ``lint_pkix_cert``'s own ``main`` runs in-process (the program's start-up costs 100 times
    more than the lint); its exit code must agree with the findings.
    """
    import contextlib
    import io
    import tempfile

    from pkilint.bin.lint_pkix_cert import main

    with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
        handle.write(pem)
        handle.flush()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["lint", "-s", "ERROR", "-f", "JSON", handle.name])
    report = json.loads(out.getvalue())
    findings = [
        f"{f['code']} @ {r['node_path']}"
        for r in report["results"]
        for f in r["finding_descriptions"]
        if f["severity"] in ("ERROR", "FATAL")
    ]
    assert (code == 0) == (not findings), (code, findings)
    return findings


def openssl_verify(
    ca: Path, cert: Path, purpose: str | None, untrusted: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = ["openssl", "verify", "-x509_strict", "-CAfile", str(ca)]
    argv += ["-purpose", purpose] if purpose else []
    argv += ["-untrusted", str(untrusted)] if untrusted else []
    return _run([*argv, str(cert)])


def _strict_context(side: int, ca: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(side)
    ctx.load_verify_locations(cafile=str(ca))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def python_get(
    port: int, ca: Path, server_hostname: str, client: Any | None = None
) -> tuple[str, str]:
    """A strict, hostname-checking Python client: handshake, ``GET /v2/``; (status, version)."""
    ctx = _strict_context(ssl.PROTOCOL_TLS_CLIENT, ca)
    ctx.check_hostname = True
    ctx.hostname_checks_common_name = False
    if client is not None:
        ctx.load_cert_chain(client.crt, client.key)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        host = f"[{server_hostname}]" if ":" in server_hostname else server_hostname
        tls.sendall(
            f"GET /v2/ HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return data.split(b"\r\n", 1)[0].decode(), str(tls.version())


def python_mtls(server: Any, client: Any) -> str:
    """A Python TLS server that requires a client certificate and checks it strictly."""
    server_ctx = _strict_context(ssl.PROTOCOL_TLS_SERVER, client.ca)
    server_ctx.load_cert_chain(server.crt, server.key)
    client_ctx = _strict_context(ssl.PROTOCOL_TLS_CLIENT, server.ca)
    client_ctx.check_hostname = True
    client_ctx.load_cert_chain(client.crt, client.key)
    seen: list[Any] = []
    errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(TIMEOUT)

        def serve() -> None:
            try:
                conn, _ = sock.accept()
                conn.settimeout(TIMEOUT)
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    seen.append(tls.getpeercert())
                    tls.sendall(b"ok")
            except (OSError, ssl.SSLError) as exc:
                errors.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = sock.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            client_ctx.wrap_socket(raw, server_hostname="harbor.test") as tls,
        ):
            assert tls.recv(2) == b"ok"
        thread.join(TIMEOUT)
    assert not errors, errors
    subject = dict(x[0] for x in seen[0]["subject"])
    return str(subject["commonName"])


def curl(port: int, ca: Path, client: Any | None = None, host: str = "harbor.test") -> str:
    argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"]
    argv += ["--cacert", str(ca), "--resolve", f"{host}:{port}:127.0.0.1"]
    if client is not None:
        argv += ["--cert", str(client.crt), "--key", str(client.key)]
    done = _run([*argv, f"https://{host}:{port}/v2/"])
    assert done.returncode == 0, done.stderr
    return done.stdout


def cert_dir(folder: Path, ca: Path, client: Any | None) -> Path:
    """A containers/image certs.d folder: ca.crt, plus client.cert/client.key for mTLS."""
    folder.mkdir()
    shutil.copy(ca, folder / "ca.crt")
    if client is not None:
        shutil.copy(client.crt, folder / "client.cert")
        shutil.copy(client.key, folder / "client.key")
    return folder


@pytest.mark.parametrize("key_type", CA_TYPES)
def test_ca_certificate(key_type: str, issue_kind: Any) -> None:
    kind = issue_kind(key_type, "server")
    ca = kind.ca
    assert pkilint_errors(ca.read_bytes()) == []
    done = openssl_verify(ca, ca, None)
    assert done.returncode == 0 and f"{ca}: OK" in done.stdout, done.stdout + done.stderr
    ctx = _strict_context(ssl.PROTOCOL_TLS_CLIENT, ca)  # loads as a trust anchor
    assert ctx.cert_store_stats()["x509_ca"] == 1


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_server_and_client_certificates(
    key_type: str,
    issue_kind: Any,
    nginx: Any,
    skopeo: Any,
    registry: int,
    tmp_path: Path,
) -> None:
    server, client = issue_kind(key_type, "server"), issue_kind(key_type, "client")

    # RFC 5280 linter and openssl's strict verifier, with the matching purpose.
    assert pkilint_errors(server.leaf_pem) == [], server.label
    assert pkilint_errors(client.leaf_pem) == [], client.label
    purposes = ((server, "sslserver", "sslclient"), (client, "sslclient", "sslserver"))
    for kind, purpose, wrong in purposes:
        done = openssl_verify(kind.ca, kind.crt, purpose)
        assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stderr
        assert openssl_verify(kind.ca, kind.crt, wrong).returncode != 0  # the EKU is specific

    # Python ssl, strict, both directions (a Python server checks the client certificate).
    assert python_mtls(server, client) == "robot.harbor.test"

    # nginx in front of docker-registry, requiring a client certificate from the same CA.
    port = free_port()
    tls = S.tls_include(tmp_path, server.crt, server.key)
    proxy = nginx(tls, port=port, client_ca=client.ca)
    for hostname in ("harbor.test", "registry.harbor.test", "127.0.0.1", "::1"):
        status, _version = python_get(port, server.ca, hostname, client)
        assert status == "HTTP/1.1 200 OK", (hostname, status, proxy.error_log())
    assert curl(port, server.ca, client) == "200"
    assert curl(port, server.ca, client, host="registry.harbor.test") == "200"
    assert curl(port, server.ca) == "400"  # nginx's answer without a client certificate

    repo = f"conformance/{key_type}"
    pushed = skopeo.push(port, cert_dir=cert_dir(tmp_path / "certs", server.ca, client), repo=repo)
    assert pushed.returncode == 0, pushed.stderr + proxy.error_log()
    assert S.registry_tags(registry, repo) == ["v1"]
    assert "verify=SUCCESS" in proxy.access_log()
    assert "CN=robot.harbor.test" in proxy.access_log()


# Pebble's certificate profile sets keyUsage keyEncipherment on every leaf, which RFC 8813
# forbids for EC keys; the profile is the CA's choice (Let's Encrypt sets digitalSignature only
# for EC), not something the CSR tlsprov sends can change.
PEBBLE_PROFILE = {"ec256": {"pkix.key_usage_value_prohibited_for_ec"}, "rsa2048": set()}


@pytest.mark.parametrize("key_type", ["rsa2048", "ec256"])
def test_acme_issued_certificate(
    key_type: str, pebble: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    import tlsprov
    from tlsprov.pki.bundleio import write_bundle

    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.root_pem())
    options = C.options_for(pebble, tmp_path / "account", root_ca=str(root), key_type=key_type)
    provider = tlsprov.get_provider("letsencrypt", **options)
    bundle = provider.issue(tlsprov.make_request(["harbor.test", "127.0.0.1"]))
    folder = tmp_path / "acme"
    files = write_bundle(folder, "harbor.test", bundle)
    assert bundle.chain_pem, "Pebble serves an intermediate"
    chain = tmp_path / "chain.pem"
    chain.write_bytes(b"".join(bundle.chain_pem))
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(bundle.leaf_pem)

    findings = {f.split(" @ ")[0] for f in pkilint_errors(bundle.leaf_pem)}
    assert findings == PEBBLE_PROFILE[key_type]
    for intermediate in bundle.chain_pem:
        assert pkilint_errors(intermediate) == []
    done = openssl_verify(files["ca"], leaf, "sslserver", untrusted=chain)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stderr

    port = free_port()
    proxy = nginx(S.tls_include(tmp_path, files["crt"], files["key"]), port=port)
    for hostname in ("harbor.test", "127.0.0.1"):
        status, _ = python_get(port, files["ca"], hostname)
        assert status == "HTTP/1.1 200 OK", (hostname, status, proxy.error_log())
    assert curl(port, files["ca"]) == "200"
    pushed = skopeo.push(port, cert_dir=cert_dir(tmp_path / "certs", files["ca"], None),
                         repo=f"conformance/acme-{key_type}")  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr + proxy.error_log()
    assert S.registry_tags(registry, f"conformance/acme-{key_type}") == ["v1"]


def test_the_linter_can_fail() -> None:
    """Negative control: a CA made like the Harbor guide's (no keyUsage) fails the linter."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guide-style CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    findings = pkilint_errors(cert.public_bytes(serialization.Encoding.PEM))
    assert any(f.startswith("pkix.ca_certificate_no_ku_extension") for f in findings), findings
