"""The ``test-good`` provider: a throwaway EC P-256 CA held in memory."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import tlsprov
from tlsprov.x509util import cert_to_pem, generate_key, key_to_pem

_OPTIONS = {"days"}


class ThrowawayCAProvider:
    """Issues leaves from a CA created when the provider is built."""

    def __init__(self, days: int = 30) -> None:
        self.days = days
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tlsprov test-good CA")])
        now = dt.datetime.now(dt.UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(self._ca_key.public_key())
        self._ca = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days + 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self._ca_key, hashes.SHA256())
        )

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> ThrowawayCAProvider:
        """Build from the options mapping; only ``days`` is known."""
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise tlsprov.ConfigError(
                f"unknown option(s) {', '.join(unknown)}",
                source="provider.test-good",
                hint="the test-good provider takes only 'days'",
            )
        return cls(days=int(options.get("days", 30)))

    def issue(self, request: tlsprov.CertificateRequest) -> tlsprov.IssuedBundle:
        """Issue a leaf for ``request`` (EC P-256 unless another key type is asked for)."""
        key = generate_key(request.key_type or tlsprov.KeyType.EC256)
        now = dt.datetime.now(dt.UTC)
        days = request.validity_days or self.days
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in request.dns_names]
        sans += [x509.IPAddress(ip) for ip in request.ip_addresses]
        eku = (
            ExtendedKeyUsageOID.SERVER_AUTH
            if request.usage is tlsprov.Usage.SERVER
            else ExtendedKeyUsageOID.CLIENT_AUTH
        )
        ca_ski = self._ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        leaf = (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, request.primary_name)])
            )
            .issuer_name(self._ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        return tlsprov.IssuedBundle(
            private_key_pem=key_to_pem(key),
            leaf_pem=cert_to_pem(leaf),
            ca_pem=cert_to_pem(self._ca),
        )
