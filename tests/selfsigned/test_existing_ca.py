"""Loading an existing CA: the Harbor guide's openssl CA, encrypted keys, and every refusal."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import tlsprov
from tlsprov.errors import ConfigError, InputError
from tlsprov.pki.x509 import cert_to_pem, key_to_pem, load_cert, make_request

Verify = Callable[..., subprocess.CompletedProcess[str]]
Run = Callable[..., subprocess.CompletedProcess[str]]
PASS = "s3cret pass"


def copy_ca(src: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("ca.key", "ca.crt"):
        shutil.copyfile(src / name, dest / name)
    return dest


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def issue(ca_dir: Path, **options: Any) -> tlsprov.IssuedBundle:
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, **options)
    bundle = provider.issue(make_request(["harbor.test", "127.0.0.1"], key_type="ec256"))
    assert provider.impl.ca_created is False  # type: ignore[attr-defined]
    return bundle


def test_guide_ca_pkcs8_loads_and_issues(
    guide_ca_dir: Path,
    tmp_path: Path,
    openssl_verify: Verify,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ca_dir = copy_ca(guide_ca_dir, tmp_path / "ca")
    assert (ca_dir / "ca.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    before = snapshot(ca_dir)
    with caplog.at_level(logging.WARNING, logger="tlsprov"):
        bundle = issue(ca_dir)
    assert "no keyUsage" in caplog.text
    assert snapshot(ca_dir) == before
    ca = load_cert(bundle.ca_pem)
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "MyPersonal Root CA"
    leaf = load_cert(bundle.leaf_pem)
    assert leaf.issuer == ca.subject
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA512)
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    done = openssl_verify(bundle.ca_pem, bundle.leaf_pem, strict=False, purpose="sslserver")
    assert done.returncode == 0, done.stdout + done.stderr


def test_guide_ca_pkcs1_loads_and_issues(
    guide_ca_dir: Path, tmp_path: Path, openssl_verify: Verify, run_program: Run
) -> None:
    ca_dir = copy_ca(guide_ca_dir, tmp_path / "ca")
    done = run_program(
        ["openssl", "rsa", "-in", "ca.key", "-traditional", "-out", "ca.key"], cwd=ca_dir
    )
    assert done.returncode == 0, done.stderr
    assert (ca_dir / "ca.key").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    bundle = issue(ca_dir)
    assert openssl_verify(bundle.ca_pem, bundle.leaf_pem, strict=False).returncode == 0


def _encrypted(tmp_path: Path, guide_commands: Callable[..., None], traditional: bool) -> Path:
    folder = tmp_path / "ca"
    guide_commands(folder, bits=2048, passout=PASS)
    if traditional:
        done = subprocess.run(
            ["openssl", "rsa", "-in", "ca.key", "-passin", f"pass:{PASS}", "-traditional",
             "-aes256", "-passout", f"pass:{PASS}", "-out", "ca.key"],
            cwd=folder, capture_output=True, text=True, timeout=20, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.parametrize("traditional", [False, True], ids=["pkcs8", "pkcs1"])
def test_encrypted_key_with_passphrase_from_str_env_file(
    tmp_path: Path,
    guide_commands: Callable[..., None],
    openssl_verify: Verify,
    monkeypatch: pytest.MonkeyPatch,
    traditional: bool,
) -> None:
    ca_dir = _encrypted(tmp_path, guide_commands, traditional)
    head = (ca_dir / "ca.key").read_bytes()[:60]
    assert b"ENCRYPTED" in (ca_dir / "ca.key").read_bytes()
    assert head.startswith(
        b"-----BEGIN RSA PRIVATE KEY-----" if traditional else b"-----BEGIN ENCRYPTED"
    )
    monkeypatch.setenv("TLSPROV_TEST_CA_PASS", PASS)
    (tmp_path / "pass.txt").write_text(PASS + "\n")
    for secret in (PASS, {"env": "TLSPROV_TEST_CA_PASS"}, {"file": str(tmp_path / "pass.txt")}):
        bundle = issue(ca_dir, ca_passphrase=secret)
        assert openssl_verify(bundle.ca_pem, bundle.leaf_pem, strict=False).returncode == 0


def test_wrong_or_missing_passphrase(
    tmp_path: Path, guide_commands: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_dir = _encrypted(tmp_path, guide_commands, traditional=False)
    before = snapshot(ca_dir)
    with pytest.raises(InputError, match="wrong passphrase") as info:
        issue(ca_dir, ca_passphrase="not it")
    assert "not it" not in info.value.one_line()
    with pytest.raises(InputError, match="no passphrase was given") as info:
        issue(ca_dir)
    assert info.value.hint and "ca_passphrase" in info.value.hint
    monkeypatch.delenv("TLSPROV_TEST_CA_PASS", raising=False)
    with pytest.raises(ConfigError, match="TLSPROV_TEST_CA_PASS"):
        issue(ca_dir, ca_passphrase={"env": "TLSPROV_TEST_CA_PASS"})
    with pytest.raises(ConfigError, match="cannot read the passphrase file"):
        issue(ca_dir, ca_passphrase={"file": str(tmp_path / "missing.txt")})
    assert snapshot(ca_dir) == before


# --- refusals -------------------------------------------------------------------------------


def _raw_ca(
    folder: Path,
    *,
    ca: bool = True,
    days_from: int = -1,
    days_to: int = 30,
    key: Any = None,
    cert_key: Any = None,
    algorithm: Any = None,
    ski: bool = True,
) -> Path:
    """Write a CA built with cryptography directly (for shapes the provider never makes)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = key or ec.generate_private_key(ec.SECP256R1())
    cert_key = cert_key or key
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Odd CA")])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(cert_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=days_from))
        .not_valid_after(now + dt.timedelta(days=days_to))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ski:
        ski_value = x509.SubjectKeyIdentifier.from_public_key(cert_key.public_key())
        builder = builder.add_extension(ski_value, critical=False)
    cert = builder.sign(cert_key, algorithm or hashes.SHA256())
    (folder / "ca.key").write_bytes(key_to_pem(key))
    (folder / "ca.crt").write_bytes(cert_to_pem(cert))
    return folder


def _refused(ca_dir: Path, fragment: str, **options: Any) -> InputError:
    before = snapshot(ca_dir)
    with pytest.raises(InputError) as info:
        issue(ca_dir, **options)
    assert fragment in info.value.message, info.value.message
    assert info.value.hint
    assert snapshot(ca_dir) == before
    return info.value


def test_a_plain_raw_ca_is_accepted(tmp_path: Path) -> None:
    """Control for the refusals below: the same recipe with sane values loads."""
    bundle = issue(_raw_ca(tmp_path / "ca"))
    assert load_cert(bundle.ca_pem).subject.rfc4514_string() == "CN=Odd CA"


def test_a_raw_ca_without_subject_key_identifier_is_refused_at_issue(tmp_path: Path) -> None:
    """Strict verifiers reject a CA without SKI, so the bundle check at issue refuses it."""
    ca_dir = _raw_ca(tmp_path / "ca", ski=False)
    before = snapshot(ca_dir)
    with pytest.raises(tlsprov.IssuanceError) as info:
        issue(ca_dir)
    assert "subjectKeyIdentifier" in info.value.message
    assert snapshot(ca_dir) == before


def test_key_cert_mismatch(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    _refused(_raw_ca(tmp_path / "ca", cert_key=other), "does not belong to")


def test_non_ca_certificate(tmp_path: Path) -> None:
    _refused(_raw_ca(tmp_path / "ca", ca=False), "is not a CA certificate")


def test_expired_ca(tmp_path: Path) -> None:
    _refused(_raw_ca(tmp_path / "ca", days_from=-30, days_to=-1), "expired on")


def test_not_yet_valid_ca(tmp_path: Path) -> None:
    _refused(_raw_ca(tmp_path / "ca", days_from=2, days_to=30), "is not valid before")


def test_sha1_ca(tmp_path: Path, run_program: Run) -> None:
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    done = run_program(
        ["openssl", "req", "-x509", "-new", "-nodes", "-sha1", "-days", "30", "-subj",
         "/CN=Old CA", "-newkey", "rsa:2048", "-keyout", "ca.key", "-out", "ca.crt"],
        cwd=ca_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _refused(ca_dir, "signed with SHA1")


def test_rsa_1024_ca(tmp_path: Path, guide_commands: Callable[..., None]) -> None:
    ca_dir = tmp_path / "ca"
    guide_commands(ca_dir, bits=1024)
    error = _refused(ca_dir, "RSA key of 1024 bits")
    assert "2048" in error.message


def test_malformed_and_unreadable_files(tmp_path: Path) -> None:
    ca_dir = _raw_ca(tmp_path / "ca")
    good_key = (ca_dir / "ca.key").read_bytes()
    (ca_dir / "ca.crt").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    )
    _refused(ca_dir, "malformed PEM certificate")
    (ca_dir / "ca.crt").write_text("hello")
    _refused(ca_dir, "holds no PEM certificate")
    _raw_ca(ca_dir)
    (ca_dir / "ca.key").write_bytes(good_key.replace(b"\n", b"\n!", 2))
    _refused(ca_dir, "malformed private key")
    (ca_dir / "ca.key").unlink()
    (ca_dir / "ca.key").mkdir()
    with pytest.raises(InputError, match="cannot read"):
        issue(ca_dir)
    os.rmdir(ca_dir / "ca.key")
