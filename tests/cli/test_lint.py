"""``pki.lint``: each check fires on a certificate with the flaw and stays quiet without it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsprov.errors import InputError, LintError
from tlsprov.models import Usage
from tlsprov.pki.lint import Finding, errors, is_ca, lint_certificate, raise_on_errors, warnings

NOW = dt.datetime.now(dt.UTC)
SANS = [x509.DNSName("harbor.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
SERVER = [ExtendedKeyUsageOID.SERVER_AUTH]


def codes(findings: list[Finding]) -> dict[str, str]:
    return {f.code: f.level for f in findings}


def test_good_leaf_is_clean(certs):
    leaf = certs.build(sans=SANS, eku=SERVER)
    for host in ("harbor.test", "HARBOR.test.", "127.0.0.1"):
        assert lint_certificate(leaf, host=host, ca=certs.ca_cert, usage=Usage.SERVER) == []
    assert lint_certificate(certs.ca_cert) == []


def test_finding_is_frozen_and_serialisable():
    finding = Finding("error", "cn-only", "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.level = "warning"  # type: ignore[misc]
    assert finding.as_dict() == {"level": "error", "code": "cn-only", "message": "x"}


def test_cn_only_and_no_san(certs):
    assert codes(lint_certificate(certs.build(cn="harbor.test"))) == {"cn-only": "error"}
    assert codes(lint_certificate(certs.build(cn=None))) == {"no-san": "error"}


def test_ip_host_needs_ip_san(certs):
    leaf = certs.build(sans=[x509.DNSName("harbor.test"), x509.DNSName("127.0.0.1.nip.io")])
    assert codes(lint_certificate(leaf, host="127.0.0.1")) == {"ip-without-ip-san": "error"}


def test_host_not_covered_ignores_cn(certs):
    leaf = certs.build(cn="harbor.test", sans=[x509.DNSName("other.test")])
    found = lint_certificate(leaf, host="harbor.test")
    assert codes(found) == {"host-not-covered": "error"}
    assert "other.test" in found[0].message
    wild = certs.build(sans=[x509.DNSName("*.example.test")])
    assert lint_certificate(wild, host="harbor.example.test") == []
    assert codes(lint_certificate(wild, host="a.b.example.test")) == {"host-not-covered": "error"}
    ip_leaf = certs.build(sans=[x509.IPAddress(ipaddress.ip_address("::1"))])
    assert codes(lint_certificate(ip_leaf, host="127.0.0.1")) == {"host-not-covered": "error"}


def test_bad_host_is_input_error(certs):
    with pytest.raises(InputError):
        lint_certificate(certs.build(sans=SANS), host="../etc")


def test_ca_key_usage(certs, ku):
    no_ku = certs.build(ca=True, sans=None, self_signed=True)
    assert is_ca(no_ku)
    assert codes(lint_certificate(no_ku)) == {"ca-without-key-usage": "warning"}
    no_sign = certs.build(ca=True, key_usage=ku(digital_signature=True), self_signed=True)
    assert codes(lint_certificate(no_sign)) == {"ca-without-keycertsign": "error"}
    good = certs.build(ca=True, key_usage=ku(key_cert_sign=True, crl_sign=True), self_signed=True)
    assert lint_certificate(good) == []


def test_validity(certs):
    expired = certs.build(
        sans=SANS, not_before=NOW - dt.timedelta(days=30), not_after=NOW - dt.timedelta(days=1)
    )
    assert codes(lint_certificate(expired)) == {"expired": "error"}
    future = certs.build(
        sans=SANS, not_before=NOW + dt.timedelta(days=1), not_after=NOW + dt.timedelta(days=30)
    )
    assert codes(lint_certificate(future)) == {"not-yet-valid": "error"}
    soon = certs.build(sans=SANS, not_after=NOW + dt.timedelta(days=29))
    assert codes(lint_certificate(soon)) == {"expiring-soon": "warning"}
    later = certs.build(sans=SANS, not_after=NOW + dt.timedelta(days=31))
    assert lint_certificate(later) == []
    assert codes(lint_certificate(later, warn_days=60)) == {"expiring-soon": "warning"}
    assert codes(lint_certificate(later, now=NOW + dt.timedelta(days=40))) == {"expired": "error"}


def test_weak_keys(certs):
    rsa1024 = certs.build(sans=SANS, key=rsa.generate_private_key(65537, 1024))
    found = lint_certificate(rsa1024)
    assert codes(found) == {"weak-key": "error"}
    assert "1024" in found[0].message
    p192 = certs.build(sans=SANS, key=ec.generate_private_key(ec.SECP192R1()))
    assert codes(lint_certificate(p192)) == {"weak-key": "error"}
    rsa2048 = certs.build(sans=SANS, key=rsa.generate_private_key(65537, 2048))
    assert lint_certificate(rsa2048) == []


def test_sha1_signature(tmp_path):
    """cryptography refuses to sign with SHA-1, so the openssl CLI makes the certificate."""
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    for argv in (
        ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
        ["openssl", "req", "-x509", "-new", "-sha1", "-key", str(key), "-subj", "/CN=h.test",
         "-addext", "subjectAltName=DNS:h.test", "-addext", "keyUsage=critical,keyCertSign",
         "-days", "365", "-out", str(crt)],
    ):  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha1"
    assert codes(lint_certificate(cert)) == {"weak-signature": "error"}


def test_leaf_cn_equal_to_ca_cn(certs):
    leaf = certs.build(cn="Lint Test CA", sans=SANS)
    assert codes(lint_certificate(leaf, ca=certs.ca_cert)) == {"cn-equals-ca-cn": "warning"}
    assert lint_certificate(leaf) == []


def test_server_auth_eku(certs):
    client = certs.build(sans=SANS, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    assert codes(lint_certificate(client, usage=Usage.SERVER)) == {"missing-server-auth": "warning"}
    assert codes(lint_certificate(client, host="harbor.test")) == {"missing-server-auth": "warning"}
    assert lint_certificate(client, usage=Usage.CLIENT, host="harbor.test") == []
    assert lint_certificate(client) == []


def test_helpers_split_and_raise(certs):
    leaf = certs.build(cn="Lint Test CA", sans=None)
    found = lint_certificate(leaf, ca=certs.ca_cert)
    assert [f.code for f in errors(found)] == ["cn-only"]
    assert [f.code for f in warnings(found)] == ["cn-equals-ca-cn"]
    with pytest.raises(LintError) as info:
        raise_on_errors(found, what="issued certificate")
    assert info.value.problems[0].startswith("issued certificate: ")
    assert info.value.exit_code == 2
    raise_on_errors(warnings(found))  # warnings alone pass


def test_missing_key_identifiers(certs):
    # issue 11 item 14: strict verifiers (and 'tlsprov verify') need AKI on a leaf, SKI on a CA
    bare = certs.build(sans=SANS, aki=False)
    assert codes(lint_certificate(bare)) == {"missing-aki": "error"}
    assert "authorityKeyIdentifier" in lint_certificate(bare)[0].message
    assert lint_certificate(certs.build(sans=SANS)) == []
    assert lint_certificate(certs.build(sans=SANS, aki=False, self_signed=True)) == []


def test_ec_leaf_with_key_encipherment_only(certs, ku):
    # issue 11 item 15: an EC key cannot encipher; without digitalSignature it cannot sign the
    # TLS handshake either, and such a leaf installed silently
    only_encipher = certs.build(sans=SANS, key_usage=ku(key_encipherment=True))
    assert codes(lint_certificate(only_encipher)) == {"ec-without-digital-signature": "error"}
    assert "digitalSignature" in lint_certificate(only_encipher)[0].message
    signing = certs.build(sans=SANS, key_usage=ku(digital_signature=True))
    assert lint_certificate(signing) == []


def test_ec_leaf_with_key_encipherment_only_is_refused_by_install_check(certs, ku):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tlsprov.errors import LintError
    from tlsprov.models import IssuedBundle
    from tlsprov.pki.bundlecheck import check_bundle

    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certs.build(sans=SANS, key=key, key_usage=ku(key_encipherment=True))
    pem = serialization.Encoding.PEM
    bundle = IssuedBundle(
        private_key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        leaf_pem=leaf.public_bytes(pem),
        ca_pem=certs.ca_cert.public_bytes(pem),
    )
    with pytest.raises(LintError, match="digitalSignature"):
        check_bundle(bundle, host="harbor.test")
