"""Conformance with real tools: pkilint's RFC 5280 linter, openssl -x509_strict, Python ssl."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tlsprov
from tlsprov.models import Usage
from tlsprov.pki.x509 import cert_to_pem, load_cert, make_request

Verify = Callable[..., subprocess.CompletedProcess[str]]
Lint = Callable[[bytes], list[str]]
Handshake = Callable[[bytes, bytes, bytes, str], bytes]
NAMES = ["harbor.test", "registry.harbor.test", "127.0.0.1", "::1"]


@pytest.mark.parametrize("key_type", ["rsa2048", "rsa3072", "rsa4096", "ec256", "ec384", "ed25519"])
def test_pkilint_and_openssl_accept_every_key_type(
    key_type: str, tmp_path: Path, rsa_ca_dir: Path, pkilint: Lint, openssl_verify: Verify
) -> None:
    ca_dir = rsa_ca_dir if key_type == "rsa4096" else tmp_path / "ca"
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type=key_type)
    server = provider.issue(make_request(NAMES))
    client = provider.issue(make_request(["robot.harbor.test"], usage=Usage.CLIENT))
    # the second of a kind comes from the CA's DER template, not from CertificateBuilder
    server2 = provider.issue(make_request(["registry.harbor.test", "harbor.test", "::1"]))
    client2 = provider.issue(make_request(["robot2.harbor.test"], usage=Usage.CLIENT))
    assert server.ca_pem == client.ca_pem == server2.ca_pem
    assert pkilint(server.ca_pem) == []
    for bundle, purpose in (
        (server, "sslserver"),
        (client, "sslclient"),
        (server2, "sslserver"),
        (client2, "sslclient"),
    ):
        assert pkilint(bundle.leaf_pem) == []
        done = openssl_verify(bundle.ca_pem, bundle.leaf_pem, purpose=purpose)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().endswith(": OK")


def test_pkilint_rejects_the_guides_own_ca(guide_ca_dir: Path, pkilint: Lint) -> None:
    findings = pkilint((guide_ca_dir / "ca.crt").read_bytes())
    assert any(f.startswith("pkix.ca_certificate_no_ku_extension") for f in findings), findings


def test_handshake_dns_and_ip(ec_provider: Any, handshake: Handshake) -> None:
    bundle = ec_provider.issue(make_request(["harbor.test", "127.0.0.1"], key_type="ec256"))
    assert handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, "harbor.test")
    assert (
        handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, "127.0.0.1") == b"ok"
    )


def test_handshake_rsa_defaults(rsa_ca_dir: Path, handshake: Handshake) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=rsa_ca_dir, key_type="rsa2048")
    bundle = provider.issue(make_request(["harbor.test", "127.0.0.1"]))
    assert handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, "127.0.0.1")


def test_handshake_wrong_host_fails(ec_provider: Any, handshake: Handshake) -> None:
    bundle = ec_provider.issue(make_request(["harbor.test", "127.0.0.1"], key_type="ec256"))
    for wrong in ("other.test", "::1"):
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, wrong)


def test_cn_is_not_used_for_hostname_checks(ec_provider: Any, handshake: Handshake) -> None:
    # the IP address is only in the CN here, never in the SAN: the client must refuse it
    bundle = ec_provider.issue(make_request(["harbor.test"], key_type="ec256"))
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, "127.0.0.1")


def test_handshake_wrong_ca_fails(tmp_path: Path, ec_provider: Any, handshake: Handshake) -> None:
    bundle = ec_provider.issue(make_request(["harbor.test"], key_type="ec256"))
    other = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "other", key_type="ec256")
    other_ca = other.issue(make_request(["harbor.test"])).ca_pem
    assert other_ca != bundle.ca_pem
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(bundle.fullchain_pem, bundle.private_key_pem, other_ca, "harbor.test")


def test_expired_leaf_fails(
    tmp_path: Path,
    ec_provider: Any,
    handshake: Handshake,
    openssl_verify: Verify,
    resign_cert: Callable[..., Any],
) -> None:
    bundle = ec_provider.issue(make_request(["harbor.test"], key_type="ec256"))
    now = dt.datetime.now(dt.UTC)
    expired = resign_cert(
        load_cert(bundle.leaf_pem),
        (tmp_path / "ca" / "ca.key").read_bytes(),
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
    )
    expired_pem = cert_to_pem(expired)
    # the control: the same recipe with current dates is accepted
    fresh = cert_to_pem(
        resign_cert(load_cert(bundle.leaf_pem), (tmp_path / "ca/ca.key").read_bytes())
    )
    assert openssl_verify(bundle.ca_pem, fresh).returncode == 0
    assert handshake(fresh, bundle.private_key_pem, bundle.ca_pem, "harbor.test") == b"ok"
    done = openssl_verify(bundle.ca_pem, expired_pem)
    assert done.returncode != 0 and "expired" in done.stdout + done.stderr
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        handshake(expired_pem, bundle.private_key_pem, bundle.ca_pem, "harbor.test")


def test_strict_client_rejects_the_guides_ca(
    guide_ca_dir: Path, tmp_path: Path, handshake: Handshake, openssl_verify: Verify
) -> None:
    """Negative control for the CA extensions: the guide's CA (no keyUsage) fails strict checks."""
    ca_dir = tmp_path / "guide"
    ca_dir.mkdir()
    for name in ("ca.key", "ca.crt"):
        (ca_dir / name).write_bytes((guide_ca_dir / name).read_bytes())
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir)
    bundle = provider.issue(make_request(["harbor.test"], key_type="ec256"))
    assert openssl_verify(bundle.ca_pem, bundle.leaf_pem, strict=False).returncode == 0
    strict = openssl_verify(bundle.ca_pem, bundle.leaf_pem, strict=True)
    assert strict.returncode != 0 and "key usage" in strict.stdout + strict.stderr
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(bundle.fullchain_pem, bundle.private_key_pem, bundle.ca_pem, "harbor.test")
