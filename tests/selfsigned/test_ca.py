"""Creating the CA: extensions, defaults, files and modes, force, encrypted keys."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

import tlsprov
from tlsprov.errors import ConfigError, InputError
from tlsprov.pki.x509 import load_cert, load_private_key, make_request

SUBJ = "/C=DE/O=Example GmbH/CN=Example Root CA"


def exts(cert: x509.Certificate) -> dict[str, tuple[bool, Any]]:
    return {e.oid._name: (e.critical, e.value) for e in cert.extensions}


def assert_is_ca(cert: x509.Certificate) -> None:
    """Every CA extension and its criticality."""
    found = exts(cert)
    assert list(found) == [
        "basicConstraints",
        "keyUsage",
        "subjectKeyIdentifier",
        "authorityKeyIdentifier",
    ]
    crit, bc = found["basicConstraints"]
    assert crit is True and bc.ca is True and bc.path_length is None
    crit, ku = found["keyUsage"]
    assert crit is True
    assert ku.key_cert_sign and ku.crl_sign
    assert not (ku.digital_signature or ku.key_encipherment or ku.content_commitment)
    crit, ski = found["subjectKeyIdentifier"]
    assert crit is False
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    crit, aki = found["authorityKeyIdentifier"]
    assert crit is False
    assert aki.key_identifier == ski.digest
    assert aki.authority_cert_issuer is None and aki.authority_cert_serial_number is None
    assert cert.subject == cert.issuer
    assert cert.serial_number > 0 and cert.serial_number.bit_length() >= 64
    assert cert.version is x509.Version.v3


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def test_rsa_defaults_match_the_guide(
    rsa_ca_dir: Path, pkilint: Callable[[bytes], list[str]]
) -> None:
    cert = load_cert((rsa_ca_dir / "ca.crt").read_bytes())
    key = load_private_key((rsa_ca_dir / "ca.key").read_bytes())
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 4096
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA512)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(days=3650, minutes=1)) < dt.timedelta(minutes=1)
    skew = dt.datetime.now(dt.UTC) - cert.not_valid_before_utc
    assert dt.timedelta(seconds=30) < skew < dt.timedelta(hours=1)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    org = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    assert org == "tlsprov"
    assert isinstance(cn, str) and cn.startswith("tlsprov Root CA ") and len(cn) > 17
    assert_is_ca(cert)
    assert pkilint(cert.public_bytes(serialization_pem())) == []


def serialization_pem() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def test_init_ca_ec_with_subject(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    provider = tlsprov.get_provider(
        "selfsigned", ca_dir=str(tmp_path / "ca"), key_type="ec256", subject=SUBJ, days=30
    )
    with caplog.at_level(logging.INFO, logger="tlsprov"):
        info = provider.impl.init_ca()  # type: ignore[attr-defined]
    assert f"created a new CA in {tmp_path / 'ca'}" in caplog.text
    assert provider.impl.ca_created is True  # type: ignore[attr-defined]
    cert = load_cert((tmp_path / "ca" / "ca.crt").read_bytes())
    assert_is_ca(cert)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert info == tlsprov.CAInfo(
        ca_key=tmp_path / "ca" / "ca.key",
        ca_crt=tmp_path / "ca" / "ca.crt",
        subject=SUBJ,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_after=cert.not_valid_after_utc,
    )
    assert info.not_after - dt.datetime.now(dt.UTC) < dt.timedelta(days=30, minutes=1)


def test_default_subjects_are_unique(tmp_path: Path) -> None:
    cns = set()
    for n in range(2):
        impl = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / str(n), key_type="ec256").impl
        cert = load_cert(impl.init_ca().ca_crt.read_bytes())  # type: ignore[attr-defined]
        cns.add(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    assert len(cns) == 2


@pytest.mark.parametrize("mask", [0o000, 0o077, 0o022])
def test_file_modes_whatever_the_umask(
    tmp_path: Path, umask: Callable[[int], None], mask: int
) -> None:
    umask(mask)
    ca_dir = tmp_path / "deep" / "ca"
    tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256").impl.init_ca()  # type: ignore[attr-defined]
    assert stat.S_IMODE(ca_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((ca_dir / "ca.crt").stat().st_mode) == 0o644
    assert sorted(p.name for p in ca_dir.iterdir()) == ["ca.crt", "ca.key"]
    assert (ca_dir / "ca.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


def test_existing_ca_is_not_replaced_without_force(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    impl = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256").impl
    impl.init_ca()  # type: ignore[attr-defined]
    before = {p.name: p.read_bytes() for p in ca_dir.iterdir()}
    with pytest.raises(InputError) as info:
        impl.init_ca()  # type: ignore[attr-defined]
    assert info.value.message == f"a CA already exists in {ca_dir}"
    assert info.value.hint == "pass --force to replace it"
    assert {p.name: p.read_bytes() for p in ca_dir.iterdir()} == before
    # only a certificate left over also counts as an existing CA
    (ca_dir / "ca.key").unlink()
    with pytest.raises(InputError, match="already exists"):
        impl.init_ca()  # type: ignore[attr-defined]
    assert (ca_dir / "ca.crt").read_bytes() == before["ca.crt"]


def test_force_replaces_the_ca(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    impl = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256").impl
    first = impl.init_ca()  # type: ignore[attr-defined]
    second = impl.init_ca(force=True)  # type: ignore[attr-defined]
    assert first.fingerprint_sha256 != second.fingerprint_sha256
    forced = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256", force=True)
    third = forced.impl.init_ca()  # type: ignore[attr-defined]
    assert third.fingerprint_sha256 != second.fingerprint_sha256
    assert (
        load_cert((ca_dir / "ca.crt").read_bytes()).fingerprint(hashes.SHA256()).hex(":").upper()
        == third.fingerprint_sha256
    )


@pytest.mark.parametrize("secret_kind", ["str", "env", "file"])
def test_passphrase_encrypts_a_new_ca_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_kind: str
) -> None:
    secret: Any = "correct horse"
    if secret_kind == "env":
        monkeypatch.setenv("TLSPROV_TEST_CA_PASS", "correct horse")
        secret = {"env": "TLSPROV_TEST_CA_PASS"}
    elif secret_kind == "file":
        (tmp_path / "pass.txt").write_text("correct horse\n")
        secret = {"file": str(tmp_path / "pass.txt")}
    ca_dir = tmp_path / "ca"
    provider = tlsprov.get_provider(
        "selfsigned", ca_dir=ca_dir, key_type="ec256", ca_passphrase=secret
    )
    assert "correct horse" not in repr(provider.impl)
    bundle = provider.issue(make_request(["harbor.test"]))
    assert provider.impl.ca_created is True  # type: ignore[attr-defined]
    key_pem = (ca_dir / "ca.key").read_bytes()
    assert key_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    with pytest.raises(InputError, match="passphrase"):
        load_private_key(key_pem)
    load_private_key(key_pem, password=b"correct horse")
    # a second issue loads the encrypted CA with the same passphrase
    again = provider.issue(make_request(["harbor.test"]))
    assert provider.impl.ca_created is False  # type: ignore[attr-defined]
    assert again.ca_pem == bundle.ca_pem


def test_unresolvable_passphrase_writes_nothing(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    provider = tlsprov.get_provider(
        "selfsigned",
        ca_dir=ca_dir,
        key_type="ec256",
        ca_passphrase={"env": "TLSPROV_TEST_SURELY_UNSET_VARIABLE"},
    )
    with pytest.raises(ConfigError, match="TLSPROV_TEST_SURELY_UNSET_VARIABLE"):
        provider.impl.init_ca()  # type: ignore[attr-defined]
    assert not ca_dir.exists()


def test_create_ca_false_refuses_to_create(tmp_path: Path) -> None:
    provider = tlsprov.get_provider(
        "selfsigned", ca_dir=tmp_path / "ca", key_type="ec256", create_ca=False
    )
    with pytest.raises(InputError, match="there is no CA in") as info:
        provider.issue(make_request(["harbor.test"]))
    assert info.value.hint and "ca init" in info.value.hint
    assert not (tmp_path / "ca").exists()


@pytest.mark.parametrize("present", ["ca.key", "ca.crt"])
def test_half_a_ca_is_refused(tmp_path: Path, present: str) -> None:
    ca_dir = tmp_path / "ca"
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256")
    provider.impl.init_ca()  # type: ignore[attr-defined]
    missing = "ca.crt" if present == "ca.key" else "ca.key"
    (ca_dir / missing).unlink()
    kept = (ca_dir / present).read_bytes()
    with pytest.raises(InputError, match=f"{missing} does not"):
        provider.issue(make_request(["harbor.test"]))
    assert sorted(p.name for p in ca_dir.iterdir()) == [present]
    assert (ca_dir / present).read_bytes() == kept


def _issuer_of(provider: Any, name: str) -> bytes:
    bundle = provider.issue(make_request([name], key_type="ec256"))
    return bytes(bundle.ca_pem)


def test_a_ca_replaced_by_init_force_signs_the_next_leaf(tmp_path: Path) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    provider.impl.init_ca()  # type: ignore[attr-defined]
    old = _issuer_of(provider, "a.harbor.test")  # the CA is now cached
    provider.impl.init_ca(force=True)  # type: ignore[attr-defined]
    new = _issuer_of(provider, "b.harbor.test")  # at once, not after the recheck interval
    assert new != old
    assert new == (tmp_path / "ca" / "ca.crt").read_bytes()


def test_a_ca_replaced_by_another_process_is_picked_up_after_the_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tlsprov_selfsigned import _provider

    clock = [1000.0]
    monkeypatch.setattr(_provider.time, "monotonic", lambda: clock[0])
    ca_dir = tmp_path / "ca"
    provider = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256")
    provider.impl.init_ca()  # type: ignore[attr-defined]
    old = _issuer_of(provider, "a.harbor.test")
    stats: list[str] = []
    real_stat = os.stat
    monkeypatch.setattr(
        _provider.os, "stat", lambda p, *a, **k: stats.append(str(p)) or real_stat(p, *a, **k)
    )
    for i in range(5):  # a bulk run inside the interval looks at the files no more
        assert _issuer_of(provider, f"bulk{i}.harbor.test") == old
    assert stats == []
    other = tlsprov.get_provider("selfsigned", ca_dir=ca_dir, key_type="ec256", force=True)
    other.impl.init_ca()  # type: ignore[attr-defined]
    stats.clear()
    clock[0] += _provider.CA_RECHECK_SECONDS / 2
    assert _issuer_of(provider, "c.harbor.test") == old  # still within the interval
    assert stats == []
    clock[0] += _provider.CA_RECHECK_SECONDS
    assert _issuer_of(provider, "d.harbor.test") == (ca_dir / "ca.crt").read_bytes() != old
    assert str(ca_dir / "ca.crt") in stats
