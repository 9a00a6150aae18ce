"""Shared fixtures for the selfsigned provider tests: real openssl, real pkilint, real TLS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

import tlsprov
from tlsprov.pki.x509 import load_private_key

GUIDE_SUBJ = "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=MyPersonal Root CA"
LINT = Path(sys.executable).with_name("lint_pkix_cert")
TIMEOUT = 20


def run(argv: list[str], cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    """Run a real program with a deadline and captured output."""
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False, **kw
    )


def guide_ca_commands(folder: Path, bits: int = 4096, passout: str | None = None) -> None:
    """Run the Harbor guide's literal CA commands in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    genrsa = ["openssl", "genrsa", "-out", "ca.key", str(bits)]
    req = ["openssl", "req", "-x509", "-new", "-nodes", "-sha512", "-days", "3650"]
    req += ["-subj", GUIDE_SUBJ, "-key", "ca.key", "-out", "ca.crt"]
    if passout is not None:
        genrsa[2:2] = ["-aes256", "-passout", f"pass:{passout}"]
        req += ["-passin", f"pass:{passout}"]
    for argv in (genrsa, req):
        done = run(argv, cwd=folder)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def rsa_ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One CA made with every default (RSA-4096, SHA-512, 3650 days), through the entry point."""
    ca_dir = tmp_path_factory.mktemp("rsa-default") / "ca"
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir)
    info = provider.impl.init_ca()  # type: ignore[attr-defined]
    assert info.ca_crt == ca_dir / "ca.crt"
    return ca_dir


@pytest.fixture(scope="session")
def guide_ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The guide's own CA, made by its literal commands (``openssl genrsa ... 4096``)."""
    folder = tmp_path_factory.mktemp("guide") / "ca"
    guide_ca_commands(folder)
    return folder


@pytest.fixture
def ec_provider(tmp_path: Path) -> Any:
    """A selfsigned provider with an EC P-256 CA in ``tmp_path / 'ca'``, via the entry point."""
    return tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")


@pytest.fixture
def openssl_verify(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``openssl verify [-x509_strict] -CAfile ca leaf`` with the real openssl program."""
    counter = iter(range(10_000))

    def verify(
        ca_pem: bytes, leaf_pem: bytes, *, strict: bool = True, purpose: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        n = next(counter)
        ca_file, leaf_file = tmp_path / f"verify-ca-{n}.pem", tmp_path / f"verify-leaf-{n}.pem"
        ca_file.write_bytes(ca_pem)
        leaf_file.write_bytes(leaf_pem)
        argv = ["openssl", "verify"] + (["-x509_strict"] if strict else [])
        argv += ["-purpose", purpose] if purpose else []
        return run([*argv, "-CAfile", str(ca_file), str(leaf_file)])

    return verify


@pytest.fixture(scope="session")
def pkilint() -> Callable[[bytes], list[str]]:
    """Return the ERROR and FATAL finding codes of pkilint's RFC 5280 linter for a PEM cert."""

    def lint(pem: bytes) -> list[str]:
        done = subprocess.run(
            [str(LINT), "lint", "-s", "ERROR", "-f", "JSON", "-"],
            input=pem,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.stdout, done.stderr
        report = json.loads(done.stdout)
        codes = [
            f"{finding['code']} @ {result['node_path']}"
            for result in report["results"]
            for finding in result["finding_descriptions"]
            if finding["severity"] in ("ERROR", "FATAL")
        ]
        assert (done.returncode == 0) == (not codes), (done.returncode, codes)
        return codes

    return lint


def _handshake(
    tmp: Path, cert_pem: bytes, key_pem: bytes, ca_pem: bytes, server_hostname: str
) -> bytes:
    cert_file, key_file = tmp / "hs-cert.pem", tmp / "hs-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(key_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_file, key_file)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(cadata=ca_pem.decode())
    client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    client_ctx.check_hostname = True
    client_ctx.hostname_checks_common_name = False
    server_errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                conn.settimeout(TIMEOUT)
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (OSError, ssl.SSLError) as exc:
                server_errors.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
                client_ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                return tls.recv(2)
        finally:
            thread.join(timeout=TIMEOUT)
            assert not thread.is_alive()


@pytest.fixture
def handshake(tmp_path: Path) -> Callable[[bytes, bytes, bytes, str], bytes]:
    """A real TLS handshake on 127.0.0.1 with a strict, hostname-checking client.

    Call as ``handshake(cert_pem, key_pem, ca_pem, server_hostname)``; returns what the server
    sent (``b"ok"``) or raises ``ssl.SSLError``.
    """

    def go(cert_pem: bytes, key_pem: bytes, ca_pem: bytes, server_hostname: str) -> bytes:
        return _handshake(tmp_path, cert_pem, key_pem, ca_pem, server_hostname)

    return go


def resign(
    cert: x509.Certificate,
    ca_key_pem: bytes,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    drop: tuple[type[x509.ExtensionType], ...] = (),
) -> x509.Certificate:
    """Rebuild ``cert`` with other dates (or without some extensions), signed by ``ca_key_pem``.

    Used to make expired or otherwise broken certificates with cryptography directly.
    """
    from cryptography.hazmat.primitives import hashes

    key = load_private_key(ca_key_pem)
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or cert.not_valid_before_utc)
        .not_valid_after(not_after or cert.not_valid_after_utc)
    )
    for ext in cert.extensions:
        if not isinstance(ext.value, drop):
            builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]


@pytest.fixture
def resign_cert() -> Callable[..., x509.Certificate]:
    """The :func:`resign` helper as a fixture."""
    return resign


@pytest.fixture
def guide_commands() -> Callable[..., None]:
    """The :func:`guide_ca_commands` helper as a fixture."""
    return guide_ca_commands


@pytest.fixture
def run_program() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The :func:`run` helper as a fixture."""
    return run
