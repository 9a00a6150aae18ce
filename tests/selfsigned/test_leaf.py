"""Leaf certificates: the guide's v3.ext extensions, key usage by key type, validity, openssl."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import tlsprov
from tlsprov.errors import ConfigError, InputError
from tlsprov.models import CertificateRequest, IssuedBundle, KeyType, Usage
from tlsprov.pki.x509 import key_matches_cert, load_cert, load_private_key, make_request

Verify = Callable[..., subprocess.CompletedProcess[str]]


def assert_is_leaf(
    bundle: IssuedBundle, *, rsa_key: bool, eku: x509.ObjectIdentifier, names: list[str]
) -> x509.Certificate:
    """Every leaf extension, its order (as OpenSSL 3 writes v3.ext) and its criticality."""
    cert = load_cert(bundle.leaf_pem)
    ca = load_cert(bundle.ca_pem)
    assert bundle.chain_pem == ()
    assert key_matches_cert(load_private_key(bundle.private_key_pem), cert)
    assert bundle.private_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    found = [(e.oid, e.critical, e.value) for e in cert.extensions]
    assert [oid._name for oid, _, _ in found] == [
        "authorityKeyIdentifier",
        "basicConstraints",
        "keyUsage",
        "extendedKeyUsage",
        "subjectAltName",
        "subjectKeyIdentifier",
    ]
    assert all(critical is False for _, critical, _ in found)
    aki, bc, ku, ext_ku, san, ski = (value for _, _, value in found)
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert aki.authority_cert_issuer is None and aki.authority_cert_serial_number is None
    assert bc.ca is False and bc.path_length is None
    assert ku.digital_signature and ku.content_commitment
    assert ku.key_encipherment is rsa_key and ku.data_encipherment is rsa_key
    assert not (ku.key_agreement or ku.key_cert_sign or ku.crl_sign)
    assert list(ext_ku) == [eku]
    dns = [n for n in names if not _is_ip(n)]
    ips = [ipaddress.ip_address(n) for n in names if _is_ip(n)]
    assert san.get_values_for_type(x509.DNSName) == dns
    assert san.get_values_for_type(x509.IPAddress) == ips
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert cert.subject == x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    assert cert.issuer == ca.subject
    assert cert.serial_number > 0 and cert.serial_number.bit_length() >= 64
    assert cert.not_valid_before_utc < dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    return cert


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_rsa_server_defaults(rsa_ca_dir: Path, openssl_verify: Verify) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=rsa_ca_dir)
    names = ["harbor.test", "harbor", "127.0.0.1", "::1"]
    bundle = provider.issue(make_request(names))
    assert provider.impl.ca_created is False  # type: ignore[attr-defined]
    cert = assert_is_leaf(bundle, rsa_key=True, eku=ExtendedKeyUsageOID.SERVER_AUTH, names=names)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 4096
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA512)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(days=3650)) < dt.timedelta(days=1)
    ca = load_cert(bundle.ca_pem)
    assert cert.not_valid_after_utc <= ca.not_valid_after_utc
    assert bundle.ca_pem == (rsa_ca_dir / "ca.crt").read_bytes()
    done = openssl_verify(bundle.ca_pem, bundle.leaf_pem, purpose="sslserver")
    assert done.returncode == 0, done.stderr + done.stdout


def test_ec_server(ec_provider: Any, openssl_verify: Verify) -> None:
    names = ["harbor.test", "registry.harbor.test", "127.0.0.1"]
    bundle = ec_provider.issue(make_request(names, key_type="ec256", validity_days=90))
    assert ec_provider.impl.ca_created is True
    cert = assert_is_leaf(bundle, rsa_key=False, eku=ExtendedKeyUsageOID.SERVER_AUTH, names=names)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime == dt.timedelta(days=90, minutes=1)
    done = openssl_verify(bundle.ca_pem, bundle.leaf_pem, purpose="sslserver")
    assert done.returncode == 0, done.stderr + done.stdout
    wrong_purpose = openssl_verify(bundle.ca_pem, bundle.leaf_pem, purpose="sslclient")
    assert wrong_purpose.returncode != 0


def test_ec_client(ec_provider: Any, openssl_verify: Verify) -> None:
    names = ["robot.harbor.test"]
    request = make_request(names, key_type="ec256", usage=Usage.CLIENT)
    bundle = ec_provider.issue(request)
    assert_is_leaf(bundle, rsa_key=False, eku=ExtendedKeyUsageOID.CLIENT_AUTH, names=names)
    done = openssl_verify(bundle.ca_pem, bundle.leaf_pem, purpose="sslclient")
    assert done.returncode == 0, done.stderr + done.stdout


def test_rsa_client_from_an_ec_ca(ec_provider: Any, openssl_verify: Verify) -> None:
    names = ["robot"]
    bundle = ec_provider.issue(make_request(names, key_type="rsa2048", usage=Usage.CLIENT))
    cert = assert_is_leaf(bundle, rsa_key=True, eku=ExtendedKeyUsageOID.CLIENT_AUTH, names=names)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey)
    assert openssl_verify(bundle.ca_pem, bundle.leaf_pem).returncode == 0


def test_ip_only_certificate(ec_provider: Any, openssl_verify: Verify) -> None:
    names = ["127.0.0.1"]
    bundle = ec_provider.issue(make_request(names, key_type="ec256"))
    assert_is_leaf(bundle, rsa_key=False, eku=ExtendedKeyUsageOID.SERVER_AUTH, names=names)
    assert openssl_verify(bundle.ca_pem, bundle.leaf_pem).returncode == 0


def test_long_first_name_moves_the_cn(ec_provider: Any) -> None:
    long_name = ".".join(["a" * 60, "b" * 10, "test"])
    bundle = ec_provider.issue(make_request([long_name, "harbor.test"], key_type="ec256"))
    cert = load_cert(bundle.leaf_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "harbor.test"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical is False
    assert san.value.get_values_for_type(x509.DNSName) == [long_name, "harbor.test"]


def test_leaf_never_outlives_the_ca(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, openssl_verify: Verify
) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256", days=10)
    with caplog.at_level(logging.WARNING, logger="tlsprov"):
        bundle = provider.issue(make_request(["harbor.test"], validity_days=400))
    cert, ca = load_cert(bundle.leaf_pem), load_cert(bundle.ca_pem)
    assert cert.not_valid_after_utc == ca.not_valid_after_utc
    assert "capped the certificate's validity" in caplog.text
    assert openssl_verify(bundle.ca_pem, bundle.leaf_pem).returncode == 0


def test_provider_key_type_and_days_are_leaf_defaults(tmp_path: Path) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec384", days=20)
    bundle = provider.issue(make_request(["harbor.test"]))
    cert, ca = load_cert(bundle.leaf_pem), load_cert(bundle.ca_pem)
    for c in (cert, ca):
        key = c.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=20, minutes=1)


def test_validity_zero_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 1 day"):
        CertificateRequest(dns_names=("harbor.test",), validity_days=0)
    with pytest.raises(InputError, match="at least 1 day"):
        make_request(["harbor.test"], validity_days=0)
    with pytest.raises(ConfigError, match="days"):
        tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", days=0)
    assert not (tmp_path / "ca").exists()


def test_every_key_type_issues(ec_provider: Any) -> None:
    for key_type in (KeyType.EC384, KeyType.ED25519, KeyType.RSA2048):
        bundle = ec_provider.issue(make_request(["harbor.test"], key_type=key_type))
        cert = load_cert(bundle.leaf_pem)
        assert key_matches_cert(load_private_key(bundle.private_key_pem), cert)
