"""A tiny ec256 test PKI made with cryptography (loaded by the installer and verify conftests).

Loaded as the module ``tlsprov_test_pki`` (pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsprov.models import IssuedBundle

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


class TestCA:
    """An ec256 CA that passes strict X.509 verification (CA:TRUE and keyUsage, critical)."""

    __test__ = False

    def __init__(
        self,
        cn: str = "tlsprov test CA",
        *,
        issuer: TestCA | None = None,
        days: int = 400,
    ) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        signer_key = issuer.key if issuer else self.key
        signer_name = issuer.name if issuer else self.name
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(signer_name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=days))
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
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
        )
        if issuer is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
        self.cert = builder.sign(signer_key, hashes.SHA256())
        self.pem = _pem(self.cert)

    def intermediate(self, cn: str = "tlsprov test intermediate") -> TestCA:
        """A sub-CA signed by this CA."""
        return TestCA(cn, issuer=self)

    def leaf(
        self,
        names: Sequence[str] = ("harbor.test",),
        *,
        cn: str | None = None,
        san: bool = True,
        eku: Sequence[x509.ObjectIdentifier] | None = (SERVER_AUTH,),
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key: ec.EllipticCurvePrivateKey | None = None,
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A leaf key and certificate (defaults: SANs = names, serverAuth, valid 90 days)."""
        leaf_key = key or ec.generate_private_key(ec.SECP256R1())
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or names[0])]))
            .issuer_name(self.name)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(minutes=5))
            .not_valid_after(not_after or now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(_san(names), critical=False)
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        return leaf_key, builder.sign(self.key, hashes.SHA256())

    def bundle(
        self,
        names: Sequence[str] = ("harbor.test",),
        *,
        chain: Sequence[TestCA] = (),
        ca_pem: bytes | None = None,
        **leaf_options: object,
    ) -> IssuedBundle:
        """An IssuedBundle for a leaf from :meth:`leaf` (``chain``: intermediates, issuer first)."""
        key, cert = self.leaf(names, **leaf_options)  # type: ignore[arg-type]
        return IssuedBundle(
            private_key_pem=_key_pem(key),
            leaf_pem=_pem(cert),
            chain_pem=tuple(c.pem for c in chain),
            ca_pem=ca_pem if ca_pem is not None else self.pem,
        )


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM of ``key``."""
    return _key_pem(key)


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM of ``cert``."""
    return _pem(cert)


def now() -> dt.datetime:
    """The current UTC time."""
    return _now()
