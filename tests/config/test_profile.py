"""The ACME profile is part of the lineage: recorded, shown by status, and a change renews."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsprov.lifecycle.config import parse_config
from tlsprov.lifecycle.lineage import LineageMeta, StateStore
from tlsprov.lifecycle.provision import acme_profile, wants_new_certificate
from tlsprov.lifecycle.status import status_of_state
from tlsprov.models import IssuedBundle


def _bundle(days: float) -> IssuedBundle:
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor.test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("harbor.test")]), False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return IssuedBundle(private_key_pem=key_pem, leaf_pem=pem, ca_pem=pem)


def _config(profile: str | None):  # type: ignore[no-untyped-def]
    options = {"directory": "letsencrypt"} | ({"profile": profile} if profile else {})
    return parse_config(
        {
            "harbor": {"hostname": "harbor.test"},
            "provider": {"name": "letsencrypt", "letsencrypt": options},
        }
    )


def test_profile_is_recorded_shown_and_a_change_renews(tmp_path: Path) -> None:
    bundle = _bundle(6)
    shortlived = _config("shortlived")
    assert acme_profile(shortlived) == "shortlived" and acme_profile(_config(None)) == ""
    meta = LineageMeta.from_bundle(
        "harbor.test", "letsencrypt", bundle, profile=acme_profile(shortlived)
    )
    store = StateStore(tmp_path / "state")
    store.save("harbor.test", bundle, meta)
    (entry,) = status_of_state(store.dir)
    assert entry.meta.profile == "shortlived"
    assert entry.to_json()["profile"] == "shortlived"
    assert "letsencrypt/shortlived" in entry.line()
    existing = store.load("harbor.test")
    assert wants_new_certificate(shortlived, existing) is None  # 6 days left of 6: not due
    assert wants_new_certificate(_config(None), existing) == (
        "ACME profile changed from shortlived to none"
    )
    assert wants_new_certificate(_config("classic"), existing) == (
        "ACME profile changed from shortlived to classic"
    )


def test_meta_without_profile_reads_as_none(tmp_path: Path) -> None:
    meta = LineageMeta.from_bundle("harbor.test", "selfsigned", _bundle(30))
    data = meta.to_json()
    del data["profile"]  # written before profiles were recorded
    assert LineageMeta.from_json(data).profile == ""
