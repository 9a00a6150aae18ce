"""The ``liar`` provider: a throwaway CA whose bundles are broken on purpose."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import tlsprov
from tlsprov.x509util import cert_to_pem, key_to_pem

_DAY = dt.timedelta(days=1)


def _ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


class LiarProvider:
    """Issues from an in-memory CA, then breaks the bundle as ``breakage`` says."""

    def __init__(self, *, breakage: str, fail_in: str) -> None:
        self.breakage = breakage
        self.fail_in = fail_in
        self._ca_key, self._ca = _ca("tlsprov liar CA")

    def issue(self, request: tlsprov.CertificateRequest) -> tlsprov.IssuedBundle:
        if self.fail_in == "issue":
            raise RuntimeError("the CA said no in a way nobody expected")
        if self.breakage == "type":
            return {"leaf": "not a bundle"}  # type: ignore[return-value]
        names = list(request.dns_names) or ["liar.test"]
        ips = list(request.ip_addresses)
        if self.breakage == "names":
            names, ips = ["somewhere-else.test"], []
        now = dt.datetime.now(dt.UTC)
        not_before, not_after = now - _DAY, now + 10 * _DAY
        if self.breakage == "expired":
            not_before, not_after = now - 20 * _DAY, now - 2 * _DAY
        eku = ExtendedKeyUsageOID.SERVER_AUTH
        if (
            request.usage is tlsprov.Usage.SERVER and self.breakage == "usage"
        ) or request.usage is tlsprov.Usage.CLIENT:
            eku = ExtendedKeyUsageOID.CLIENT_AUTH
        key = ec.generate_private_key(ec.SECP256R1())
        signer_key, signer = self._ca_key, self._ca
        chain: tuple[bytes, ...] = ()
        if self.breakage == "chain":  # signed by an intermediate the CA never signed
            signer_key, signer = _ca("tlsprov liar stray intermediate")
            chain = (cert_to_pem(signer),)
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
        sans += [x509.IPAddress(ip) for ip in ips]
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(signer.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .sign(signer_key, hashes.SHA256())
        )
        if self.breakage == "key":
            key = ec.generate_private_key(ec.SECP256R1())  # a key that does not match the leaf
        ca_pem = cert_to_pem(self._ca)
        if self.breakage == "ca":
            ca_pem = cert_to_pem(_ca("tlsprov liar other CA")[1])
        return tlsprov.IssuedBundle(
            private_key_pem=key_to_pem(key),
            leaf_pem=cert_to_pem(leaf),
            chain_pem=chain,
            ca_pem=ca_pem,
        )
