"""Build leaf certificates with the extensions of the Harbor guide's ``v3.ext``, strict-clean."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsprov.models import CertificateRequest, KeyType, Usage
from tlsprov.pki.made import remember_made
from tlsprov.pki.x509 import generate_key, now_utc, public_der
from tlsprov_selfsigned._ca import (
    CLOCK_SKEW,
    CertificateAuthority,
    crypto_error,
    crypto_errors,
)
from tlsprov_selfsigned._template import LeafInputs, derive_template

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes,
        CertificateIssuerPublicKeyTypes,
    )

__all__ = ["build_leaf", "leaf_key_usage", "leaf_subject"]

log = logging.getLogger("tlsprov")

_CN_MAX = 64


@functools.cache
def leaf_key_usage(key_type: KeyType) -> x509.KeyUsage:
    """The guide's keyUsage for RSA; digitalSignature + nonRepudiation only for EC/Ed25519.

    keyEncipherment and dataEncipherment make sense only for RSA keys (RFC 8813).
    """
    rsa = key_type.is_rsa
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=rsa,
        data_encipherment=rsa,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


@functools.cache
def _extended_key_usage(usage: Usage) -> x509.ExtendedKeyUsage:
    ekus = [ExtendedKeyUsageOID.SERVER_AUTH] if usage.server else []
    ekus += [ExtendedKeyUsageOID.CLIENT_AUTH] if usage.client else []
    return x509.ExtendedKeyUsage(ekus)


@functools.cache
def _not_a_ca() -> x509.BasicConstraints:
    return x509.BasicConstraints(ca=False, path_length=None)


def leaf_subject(request: CertificateRequest) -> x509.Name:
    """``CN=<first name>``; the first identity that fits in a CN (64 characters) if it is long.

    When no identity fits, the subject is empty and the SAN is made critical (RFC 5280 4.2.1.6).
    """
    cn = _leaf_cn(request)
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])


def _leaf_cn(request: CertificateRequest) -> str:
    for identity in (request.primary_name, *request.identities):
        if len(identity) <= _CN_MAX:
            return identity
    return ""


def _not_after(ca: CertificateAuthority, now: dt.datetime, days: int) -> dt.datetime:
    wanted = now + dt.timedelta(days=days)
    ca_end = ca.not_after
    if wanted <= ca_end:
        return wanted
    if wanted - ca_end > dt.timedelta(days=1):
        log.warning(
            "capped the certificate's validity to the CA's expiry %s (asked for %d days)",
            ca_end.isoformat(),
            days,
        )
    return ca_end


def build_leaf(
    ca: CertificateAuthority,
    request: CertificateRequest,
    key_type: KeyType,
    days: int,
    key: CertificateIssuerPrivateKeyTypes | None = None,
) -> tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate]:
    """Generate a key (or take ``key``, fresh and of ``key_type``) and a server or client
    certificate for ``request``, signed by ``ca``.

    Extensions, in the order OpenSSL 3 writes the guide's ``v3.ext``, none critical: AKI (keyid),
    basicConstraints CA:FALSE, keyUsage, extendedKeyUsage (serverAuth, clientAuth or both),
    subjectAltName (DNS names and IP addresses), SKI. The validity never outlasts the CA.
    The first leaf of a kind comes from ``CertificateBuilder``; later ones from the template
    derived from it (the same bytes, see :mod:`tlsprov_selfsigned._template`).
    """
    key = generate_key(key_type) if key is None else key
    public = key.public_key()
    now = now_utc()
    leaf = LeafInputs(
        public_der=public_der(public),
        serial=x509.random_serial_number(),
        not_before=now - CLOCK_SKEW,
        not_after=_not_after(ca, now, days),
        common_name=_leaf_cn(request),
        dns_names=request.dns_names,
        ip_addresses=request.ip_addresses,
    )
    kind = (key_type.is_rsa, request.usage)
    template = ca.templates.get(kind) if leaf.common_name else None
    if template is None:
        with crypto_errors("build the certificate"):
            cert = _build(ca, request, key_type, leaf_subject(request), public, leaf)
            remember_made(
                cert,
                signer=ca.public_der,
                issuer=ca.subject_der,
                subject_key=public,
                private_key=key,
            )
            if leaf.common_name and kind not in ca.templates:
                ca.templates[kind] = derive_template(
                    cert, leaf, issuer=ca.cert, key=ca.key, algorithm=ca.hash
                )
            return key, cert
    try:  # as crypto_errors does, without a generator per leaf
        cert, der = template.sign(leaf, ca.key, ca.hash)
    except (ValueError, TypeError) as exc:
        raise crypto_error("build the certificate", exc) from exc
    remember_made(
        cert,
        signer=ca.public_der,
        issuer=ca.subject_der,
        subject_key=public,
        extensions=template.values(leaf),
        common_name=leaf.common_name,
        der=der,
        private_key=key,
    )
    return key, cert


def _build(
    ca: CertificateAuthority,
    request: CertificateRequest,
    key_type: KeyType,
    subject: x509.Name,
    public: CertificateIssuerPublicKeyTypes,
    leaf: LeafInputs,
) -> x509.Certificate:
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in request.dns_names]
    sans += [x509.IPAddress(ip) for ip in request.ip_addresses]
    san = x509.SubjectAlternativeName(sans)
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    # One constructor call with ready Extension objects: the chained add_extension calls copy
    # the builder and re-check every earlier extension each time, a third of the build cost.
    extensions = [
        *_fixed_extensions(ca, key_type, request.usage),
        x509.Extension(san.oid, len(subject) == 0, san),
        x509.Extension(ski.oid, False, ski),
    ]
    builder = x509.CertificateBuilder(
        issuer_name=ca.subject,
        subject_name=subject,
        public_key=public,
        serial_number=leaf.serial,
        not_valid_before=leaf.not_before,
        not_valid_after=leaf.not_after,
        extensions=extensions,
    )
    return builder.sign(ca.key, ca.hash)  # type: ignore[arg-type]


def _fixed_extensions(
    ca: CertificateAuthority, key_type: KeyType, usage: Usage
) -> list[x509.Extension[x509.ExtensionType]]:
    """AKI, basicConstraints, keyUsage and extendedKeyUsage: the same for every leaf of a kind."""
    values: tuple[x509.ExtensionType, ...] = (
        ca.aki,
        _not_a_ca(),
        leaf_key_usage(key_type),
        _extended_key_usage(usage),
    )
    return [x509.Extension(v.oid, False, v) for v in values]
