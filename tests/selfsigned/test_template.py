"""Leaves from the per-CA DER template: byte for byte what ``CertificateBuilder`` writes."""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tlsprov.errors import InputError
from tlsprov.models import CertificateRequest, KeyType, Usage
from tlsprov.pki.made import provenance
from tlsprov.pki.x509 import cert_to_pem, generate_key, make_request, now_utc
from tlsprov_selfsigned._ca import CertificateAuthority, build_ca
from tlsprov_selfsigned._issue import _build, build_leaf, leaf_subject
from tlsprov_selfsigned._template import LeafInputs, LeafTemplate, _subject

SHAPES = {
    "one name": ["harbor.test"],
    "names and addresses": ["harbor.test", "*.harbor.test", "127.0.0.1", "::1"],
    "address only": ["127.0.0.1"],
    # a subjectAltName over 127 and over 255 bytes: long-form DER lengths
    "many names": [f"host-{i:03d}.registry.harbor.test" for i in range(12)],
    "a 64-character CN": ["a" * 52 + ".harbor.test", "harbor.test"],
}


def _ca(key_type: str) -> CertificateAuthority:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Template test {key_type}")])
    return build_ca(subject, KeyType(key_type), 3650)


def _template(ca: CertificateAuthority, key_type: str, usage: Usage) -> LeafTemplate:
    build_leaf(ca, make_request(["first.harbor.test"], usage=usage), KeyType(key_type), 30)
    template = ca.templates[(KeyType(key_type).is_rsa, usage)]
    assert template is not None, "the first leaf of a kind yields its template"
    return template


def _inputs(
    names: list[str],
    key_type: str,
    *,
    usage: Usage = Usage.SERVER,
    not_after: dt.datetime | None = None,
) -> tuple[LeafInputs, CertificateRequest, Any]:
    request = make_request(names, usage=usage)
    key = generate_key(KeyType(key_type))
    now = now_utc()
    subject = leaf_subject(request)
    leaf = LeafInputs(
        public_der=key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        serial=x509.random_serial_number(),
        not_before=now - dt.timedelta(minutes=1),
        not_after=not_after or now + dt.timedelta(days=30),
        common_name=subject.rfc4514_string().removeprefix("CN="),
        dns_names=request.dns_names,
        ip_addresses=request.ip_addresses,
    )
    return leaf, request, key


@pytest.mark.parametrize("key_type", ["ec256", "rsa2048", "ed25519"])
@pytest.mark.parametrize("usage", [Usage.SERVER, Usage.CLIENT, Usage.SERVER_AND_CLIENT])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_template_encodes_what_the_builder_encodes(key_type: str, usage: Usage, shape: str) -> None:
    ca = _ca(key_type)
    template = _template(ca, key_type, usage)
    leaf, request, key = _inputs(SHAPES[shape], key_type, usage=usage)
    built = _build(ca, request, KeyType(key_type), leaf_subject(request), key.public_key(), leaf)
    assert template.tbs(leaf) == built.tbs_certificate_bytes
    assert template.values(leaf) == {type(e.value): e.value for e in built.extensions}
    signed, der = template.sign(leaf, ca.key, ca.hash)
    assert der == signed.public_bytes(serialization.Encoding.DER)
    assert signed.tbs_certificate_bytes == built.tbs_certificate_bytes
    signed.verify_directly_issued_by(ca.cert)


def test_validity_from_2050_is_generalized_time() -> None:
    ca = _ca("ec256")
    template = _template(ca, "ec256", Usage.SERVER)
    after = dt.datetime(2051, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC)
    leaf, request, key = _inputs(["harbor.test"], "ec256", not_after=after)
    built = _build(ca, request, KeyType.EC256, leaf_subject(request), key.public_key(), leaf)
    assert template.tbs(leaf) == built.tbs_certificate_bytes
    assert b"\x18\x0f20510304050607Z" in template.tbs(leaf)  # GeneralizedTime, whole seconds
    assert template.sign(leaf, ca.key, ca.hash)[0].not_valid_after_utc == after.replace(
        microsecond=0
    )


def test_later_leaves_come_from_the_template_with_what_they_were_made_from() -> None:
    ca = _ca("ec256")
    request = make_request(["harbor.test", "127.0.0.1"])
    assert ca.templates == {}
    _, first = build_leaf(ca, request, KeyType.EC256, 30)
    made_first = provenance(first)
    assert made_first is not None and made_first.extensions is None  # the builder's own leaf
    template = ca.templates[(False, Usage.SERVER)]
    assert template is not None
    key, second = build_leaf(ca, request, KeyType.EC256, 30)
    made = provenance(second)
    assert made is not None and made.extensions is not None
    assert made.extensions == {type(e.value): e.value for e in second.extensions}
    assert made.subject_key == key.public_key() == second.public_key()
    assert made.signer == ca.public_der and made.issuer == second.issuer.public_bytes()
    assert made.common_name == "harbor.test" and second.subject.rfc4514_string() == "CN=harbor.test"
    assert made.der == second.public_bytes(serialization.Encoding.DER)
    assert cert_to_pem(second) == second.public_bytes(serialization.Encoding.PEM)
    second.verify_directly_issued_by(ca.cert)
    assert second.serial_number != first.serial_number
    san = second.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_a_leaf_without_cn_stays_with_the_builder() -> None:
    ca = _ca("ec256")
    long_name = ".".join(["a" * 60, "b" * 60])  # 121 characters: no CN fits
    _, cert = build_leaf(ca, make_request([long_name]), KeyType.EC256, 30)
    assert len(cert.subject) == 0
    assert ca.templates == {}  # nothing derived from a leaf with an empty subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical


def test_a_template_that_does_not_reproduce_the_builder_is_dropped() -> None:
    from tlsprov_selfsigned._template import derive_template

    ca = _ca("ec256")
    _, built = build_leaf(ca, make_request(["harbor.test"]), KeyType.EC256, 30)
    leaf, _, _ = _inputs(["other.harbor.test"], "ec256")  # not the inputs of ``built``
    assert derive_template(built, leaf, issuer=ca.cert, key=ca.key, algorithm=ca.hash) is None


@pytest.mark.parametrize("size", [1, 64, 116, 117, 200])
def test_the_subject_encoding_matches_the_builders_name(size: int) -> None:
    cn = "a" * size
    with warnings.catch_warnings():  # past 64 characters: tested for the long-form lengths
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    assert _subject(cn.encode()) == name.public_bytes()


def test_a_signing_failure_on_the_template_path_is_an_input_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ca = _ca("ec256")
    _template(ca, "ec256", Usage.SERVER)

    def broken(*_: object) -> None:
        raise ValueError("the key cannot sign this")

    monkeypatch.setattr(LeafTemplate, "sign", broken)
    with pytest.raises(InputError, match="could not build the certificate: the key cannot sign"):
        build_leaf(ca, make_request(["harbor.test"]), KeyType.EC256, 30)
