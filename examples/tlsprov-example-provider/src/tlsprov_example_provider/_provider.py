"""The ``intermediate-ca`` provider: issue leaf certificates signed by the issuing CA."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, final

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import tlsprov
from tlsprov.x509util import cert_to_pem, generate_key, key_to_pem, now_utc
from tlsprov_example_provider._ca import CLOCK_SKEW, IssuingCA, load_issuing_ca
from tlsprov_example_provider._options import IntermediateOptions

__all__ = ["IntermediateCAProvider", "make_provider"]

log = logging.getLogger("tlsprov")

_CN_MAX = 64


def _hash_for(ca: IssuingCA) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """SHA-256 (SHA-384/512 for the larger EC curves); ``None`` for Ed25519/Ed448 keys."""
    key = ca.key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size > 384:
            return hashes.SHA512()
        if key.curve.key_size > 256:
            return hashes.SHA384()
        return hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey | dsa.DSAPrivateKey):
        return hashes.SHA256()
    return None


def _subject(request: tlsprov.CertificateRequest) -> x509.Name:
    for identity in (request.primary_name, *request.identities):
        if len(identity) <= _CN_MAX:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity)])
    return x509.Name([])  # the SAN is then critical (RFC 5280 4.2.1.6)


def _key_usage(key_type: tlsprov.KeyType) -> x509.KeyUsage:
    rsa_key = key_type.is_rsa
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=rsa_key,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _not_after(ca: IssuingCA, now: dt.datetime, days: int) -> dt.datetime:
    wanted = now + dt.timedelta(days=days)
    limit = min(c.not_valid_after_utc for c in (ca.cert, *ca.chain, ca.root))
    if wanted > limit:
        log.warning(
            "capped the certificate's validity to the CA's expiry %s (asked for %d days)",
            limit.isoformat(),
            days,
        )
        return limit
    return wanted


@final
class IntermediateCAProvider:
    """Issues server and client certificates from an existing intermediate CA.

    The bundle's ``chain_pem`` holds the intermediate (and any CA above it except the trust
    anchor); ``ca_pem`` is the trust anchor, normally the organisation's root.
    """

    def __init__(self, options: IntermediateOptions) -> None:
        self.options = options

    def __repr__(self) -> str:
        o = self.options
        return (
            f"IntermediateCAProvider(ca_cert={str(o.ca_cert)!r}, key_type={o.key_type.value!r}, "
            f"days={o.days})"
        )

    def issue(self, request: tlsprov.CertificateRequest) -> tlsprov.IssuedBundle:
        """Generate a key and a certificate for ``request``, signed by the intermediate.

        Extensions: basicConstraints CA:FALSE (critical), keyUsage (critical), extendedKeyUsage
        serverAuth or clientAuth, subjectAltName with every DNS name and IP address, subject and
        authority key identifiers. The validity never outlasts the CA.

        Raises:
            InputError: the CA files are unusable (they may have changed since the factory ran).
        """
        ca = load_issuing_ca(self.options)  # read each time: the files may have been rotated
        key_type = request.key_type or self.options.key_type
        days = request.validity_days or self.options.days
        key = generate_key(key_type)
        eku = (
            ExtendedKeyUsageOID.CLIENT_AUTH
            if request.usage is tlsprov.Usage.CLIENT
            else ExtendedKeyUsageOID.SERVER_AUTH
        )
        subject = _subject(request)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in request.dns_names]
        sans += [x509.IPAddress(ip) for ip in request.ip_addresses]
        try:
            ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
        now = now_utc()
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(_not_after(ca, now, days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(key_type), critical=True)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=len(subject) == 0)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(aki, critical=False)
            .sign(ca.key, _hash_for(ca))
        )
        return tlsprov.IssuedBundle(
            private_key_pem=key_to_pem(key),
            leaf_pem=cert_to_pem(cert),
            chain_pem=tuple(cert_to_pem(c) for c in ca.chain),
            ca_pem=cert_to_pem(ca.root),
        )


def make_provider(options: dict[str, Any]) -> IntermediateCAProvider:
    """The ``intermediate-ca`` factory: check the options and the CA files up front.

    Raises:
        ConfigError: an unknown or malformed option.
        InputError: the CA files are unusable (see :func:`load_issuing_ca`).
    """
    parsed = IntermediateOptions.parse(options)
    load_issuing_ca(parsed)  # fail now, before any plan is made, when the CA is unusable
    return IntermediateCAProvider(parsed)
