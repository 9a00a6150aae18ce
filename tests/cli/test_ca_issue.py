"""Happy paths of ``tlsprov ca init`` and ``tlsprov issue``, checked with real cryptography."""

from __future__ import annotations

import ipaddress
import json
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsprov.pki.x509 import key_matches_cert, load_certs, load_private_key


def _leaf(path: Path) -> x509.Certificate:
    return load_certs(path.read_bytes())[0]


def test_ca_init_human_output(cli, tmp_path):
    res = cli(
        "ca", "init", "--ca-dir", tmp_path / "ca", "--key-type", "ec256",
        "--subject", "/C=DE/O=Example/CN=Example Root CA", "--days", "30",
    )  # fmt: skip
    assert res.code == 0, res.err
    ca_crt = tmp_path / "ca" / "ca.crt"
    cert = load_certs(ca_crt.read_bytes())[0]
    assert cert.subject.rfc4514_string() == "CN=Example Root CA,O=Example,C=DE"
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.value.ca and bc.critical
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 29 <= lifetime.days <= 31
    assert stat.S_IMODE((tmp_path / "ca" / "ca.key").stat().st_mode) == 0o600
    assert str(ca_crt) in res.out
    assert "/C=DE/O=Example/CN=Example Root CA" in res.out
    assert cert.fingerprint(hashes.SHA256()).hex(":").upper() in res.out


def test_ca_init_json_and_force(cli, tmp_path):
    ca_dir = tmp_path / "ca"
    first = cli("ca", "init", "--ca-dir", ca_dir, "--key-type", "ec256", "--json")
    assert first.code == 0, first.err
    doc = json.loads(first.out)
    assert doc["ok"] is True
    assert doc["ca"]["ca_crt"] == str(ca_dir / "ca.crt")
    assert doc["ca"]["ca_key"] == str(ca_dir / "ca.key")
    assert len(doc["ca"]["fingerprint_sha256"].split(":")) == 32
    assert "PRIVATE" not in first.out
    second = cli("ca", "init", "--ca-dir", ca_dir, "--key-type", "ec256", "--force", "--json")
    assert second.code == 0, second.err
    assert json.loads(second.out)["ca"]["fingerprint_sha256"] != doc["ca"]["fingerprint_sha256"]


def test_ca_init_with_passphrase_encrypts_the_key(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CA_PASS", "correct horse")
    res = cli(
        "ca", "init", "--ca-dir", tmp_path / "ca", "--key-type", "ec256",
        "--ca-passphrase-env", "CA_PASS",
    )  # fmt: skip
    assert res.code == 0, res.err
    key_pem = (tmp_path / "ca" / "ca.key").read_bytes()
    assert b"ENCRYPTED" in key_pem
    key = load_private_key(key_pem, password=b"correct horse")
    assert key_matches_cert(key, _leaf(tmp_path / "ca" / "ca.crt"))
    pw_file = tmp_path / "pw"
    pw_file.write_text("correct horse\n")
    issued = cli(
        "issue", "harbor.test", "--ca-dir", tmp_path / "ca", "--out", tmp_path / "out",
        "--key-type", "ec256", "--ca-passphrase-file", pw_file,
    )  # fmt: skip
    assert issued.code == 0, issued.err


def test_issue_dns_and_ip_alt_names(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    out = tmp_path / "out"
    res = cli(
        "issue", "Harbor.Test", "--alt-name", "harbor", "--alt-name", "127.0.0.1",
        "--alt-name", "::1", "--ca-dir", ca_dir, "--out", out, "--key-type", "ec256",
        "--days", "90",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.crt", "harbor.test.cert", "harbor.test.crt", "harbor.test.key",
    ]  # fmt: skip
    assert stat.S_IMODE((out / "harbor.test.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    leaf = _leaf(out / "harbor.test.crt")
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["harbor.test", "harbor"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert 89 <= (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 91
    assert (out / "harbor.test.cert").read_bytes() == (out / "harbor.test.crt").read_bytes()
    assert (out / "ca.crt").read_bytes() == (ca_dir / "ca.crt").read_bytes()
    key = load_private_key((out / "harbor.test.key").read_bytes())
    assert key_matches_cert(key, leaf)
    # the leaf really chains to the CA: openssl verifies it strictly
    verify = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", str(out / "ca.crt"),
         str(out / "harbor.test.crt")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "harbor.test.key" in res.out
    assert leaf.not_valid_after_utc.isoformat() in res.out


def test_issue_json_is_one_document(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    res = cli(
        "issue", "127.0.0.1", "--alt-name", "localhost", "--ca-dir", ca_dir,
        "--out", tmp_path / "o", "--key-type", "ec256", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    doc = json.loads(res.out)  # raises if stdout is not exactly one JSON document
    assert doc["ok"] is True
    assert doc["names"] == ["localhost", "127.0.0.1"]
    assert doc["ip_addresses"] == ["127.0.0.1"]
    assert doc["ca_created"] is False
    assert doc["files"]["key"] == str(tmp_path / "o" / "localhost.key")
    leaf = _leaf(tmp_path / "o" / "localhost.crt")
    assert doc["not_after"] == leaf.not_valid_after_utc.isoformat()
    assert doc["fingerprint_sha256"] == leaf.fingerprint(hashes.SHA256()).hex(":").upper()
    assert "BEGIN" not in res.out


def test_issue_client_certificate(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    res = cli(
        "issue", "robot.harbor.test", "--client", "--ca-dir", ca_dir, "--out", tmp_path / "c",
        "--key-type", "ec256",
    )  # fmt: skip
    assert res.code == 0, res.err
    leaf = _leaf(tmp_path / "c" / "robot.harbor.test.crt")
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in list(eku)
    assert ExtendedKeyUsageOID.SERVER_AUTH not in list(eku)
    assert "client certificate" in res.out


@pytest.mark.parametrize(
    ("key_type", "expected"),
    [
        ("ec256", (ec.EllipticCurvePublicKey, 256)),
        ("ec384", (ec.EllipticCurvePublicKey, 384)),
        ("ed25519", (ed25519.Ed25519PublicKey, None)),
        ("rsa2048", (rsa.RSAPublicKey, 2048)),
    ],
)
def test_issue_each_key_type(cli, make_ca, tmp_path, key_type, expected):
    ca_dir = make_ca()
    res = cli(
        "issue", "harbor.test", "--ca-dir", ca_dir, "--out", tmp_path / "o",
        "--key-type", key_type.upper(),
    )  # fmt: skip
    assert res.code == 0, res.err
    public = _leaf(tmp_path / "o" / "harbor.test.crt").public_key()
    kind, size = expected
    assert isinstance(public, kind)
    if size is not None:
        assert public.key_size == size  # type: ignore[union-attr]


def test_issue_creates_default_ca_and_writes_to_cwd(cli, tmp_path):
    """No --ca-dir, no --out: the CA goes to $XDG_DATA_HOME/tlsprov/ca (RSA-4096 default) and
    the bundle to the current folder."""
    res = cli("issue", "harbor.test", "--key-type", "ec256", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["ca_created"] is True
    ca_crt = tmp_path / "xdg" / "tlsprov" / "ca" / "ca.crt"
    ca = _leaf(ca_crt)
    assert isinstance(ca.public_key(), rsa.RSAPublicKey)
    assert ca.public_key().key_size == 4096  # type: ignore[union-attr]
    assert (tmp_path / "harbor.test.crt").is_file()
    assert (tmp_path / "ca.crt").read_bytes() == ca_crt.read_bytes()
    # TLSPROV_CA_DIR wins over XDG_DATA_HOME; the existing CA is reused
    again = cli("issue", "other.test", "--key-type", "ec256", "--json", "--out", tmp_path / "b")
    assert json.loads(again.out)["ca_created"] is False


def test_tlsprov_ca_dir_env(cli, make_ca, tmp_path, monkeypatch):
    ca_dir = make_ca("envca")
    monkeypatch.setenv("TLSPROV_CA_DIR", str(ca_dir))
    res = cli("issue", "harbor.test", "--key-type", "ec256", "--out", tmp_path / "o", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["ca_created"] is False
    assert (tmp_path / "o" / "ca.crt").read_bytes() == (ca_dir / "ca.crt").read_bytes()
    assert not (tmp_path / "xdg").exists()


def test_wildcard_file_name(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    res = cli(
        "issue", "*.harbor.test", "--ca-dir", ca_dir, "--out", tmp_path, "--key-type", "ec256"
    )
    assert res.code == 0, res.err
    assert (tmp_path / "_wildcard.harbor.test.crt").is_file()


def test_subprocess_issue_and_inspect(tlsprov_proc, tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    init = tlsprov_proc("ca", "init", "--ca-dir", tmp_path / "ca", "--key-type", "ec256", env=env)
    assert init.code == 0, init.err
    res = tlsprov_proc(
        "issue", "harbor.test", "--alt-name", "127.0.0.1", "--ca-dir", tmp_path / "ca",
        "--out", tmp_path / "o", "--key-type", "ec256", "--json", env=env,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert json.loads(res.out)["files"]["crt"] == str(tmp_path / "o" / "harbor.test.crt")
    shown = tlsprov_proc("inspect", tmp_path / "o" / "harbor.test.crt", "--json")
    assert shown.code == 0, shown.err
    cert = json.loads(shown.out)["certificates"][0]
    assert cert["dns_names"] == ["harbor.test"]
    assert cert["ip_addresses"] == ["127.0.0.1"]
    assert cert["lint"] == []
