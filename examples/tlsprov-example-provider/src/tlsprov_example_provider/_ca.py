"""Read the issuing CA from its files and check it can issue: key, CA flags, dates, chain."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding

import tlsprov
from tlsprov.x509util import key_matches_cert, load_cert, load_certs, load_private_key, now_utc
from tlsprov_example_provider._options import IntermediateOptions

__all__ = ["CLOCK_SKEW", "IssuingCA", "load_issuing_ca"]

log = logging.getLogger("tlsprov")

#: How far back ``notBefore`` may lie in the future and still count as valid (clock skew).
CLOCK_SKEW = dt.timedelta(minutes=5)

_HINT_FILES = "check ca_cert, ca_key and root_cert in [provider.intermediate-ca]"


@dataclass(frozen=True, slots=True)
class IssuingCA:
    """A checked issuing CA.

    Attributes:
        cert: the issuing (intermediate) CA certificate.
        key: its private key.
        chain: what a server sends after its leaf: ``cert`` then the certificates above it,
            the trust anchor excluded; empty when ``cert`` is itself the trust anchor.
        root: the certificate clients trust.
    """

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    chain: tuple[x509.Certificate, ...]
    root: x509.Certificate


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise tlsprov.InputError(
            f"cannot read {option} {path} ({exc.strerror or type(exc).__name__})",
            hint=f"set {option} in [provider.intermediate-ca] to a readable PEM file",
        ) from exc


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def _is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and _signed_by(cert, cert)


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _check_ca(cert: x509.Certificate, where: str, now: dt.datetime) -> None:
    """A CA certificate that may sign certificates and is valid now."""
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise tlsprov.InputError(
            f"{_name(cert)} in {where} is not a CA certificate (no basicConstraints CA:TRUE)",
            hint="point ca_cert at the intermediate CA's certificate, not at a server certificate",
        )
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is not None and not ku.key_cert_sign:
        raise tlsprov.InputError(
            f"{_name(cert)} in {where} may not sign certificates (keyUsage lacks keyCertSign)",
            hint="use a CA certificate whose keyUsage includes keyCertSign",
        )
    if now >= cert.not_valid_after_utc:
        raise tlsprov.InputError(
            f"the CA {_name(cert)} in {where} expired on {cert.not_valid_after_utc.isoformat()}",
            hint="renew that CA certificate and point the provider at the new file",
        )
    if now + CLOCK_SKEW < cert.not_valid_before_utc:
        raise tlsprov.InputError(
            f"the CA {_name(cert)} in {where} is not valid before "
            f"{cert.not_valid_before_utc.isoformat()}",
            hint="check the system clock, or wait until the CA is valid",
        )


def _load_key(options: IntermediateOptions) -> CertificateIssuerPrivateKeyTypes:
    data = _read(options.ca_key, "ca_key")
    passphrase = options.passphrase()
    if b"ENCRYPTED" in data and passphrase is None:
        raise tlsprov.InputError(
            f"{options.ca_key} is encrypted and no passphrase was given",
            hint='set ca_key_passphrase (a string, {env = "VAR"} or {file = "/path"})',
        )
    key = load_private_key(data, password=passphrase, source=str(options.ca_key))
    signing = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
               ed448.Ed448PrivateKey, dsa.DSAPrivateKey)  # fmt: skip
    if not isinstance(key, signing):
        raise tlsprov.InputError(
            f"{options.ca_key} holds a {type(key).__name__}, which cannot sign certificates",
            hint="use the CA's RSA, EC or Ed25519 private key",
        )
    return key


def _trust_anchor(
    options: IntermediateOptions, certs: list[x509.Certificate]
) -> tuple[tuple[x509.Certificate, ...], x509.Certificate]:
    """Split ``ca_cert``'s certificates into the chain a server sends and the trust anchor."""
    if options.root_cert is not None:
        root = load_cert(_read(options.root_cert, "root_cert"), source=str(options.root_cert))
        chain = [c for c in certs if _der(c) != _der(root)]
        if not chain:  # ca_cert is the root itself: a one-level CA
            return (), root
        return tuple(chain), root
    if len(certs) > 1:
        return tuple(certs[:-1]), certs[-1]
    only = certs[0]
    if not _is_self_signed(only):
        log.warning(
            "root_cert is not set: clients will trust the intermediate %s itself; Docker and "
            "Go accept that, OpenSSL-based clients need the root (set root_cert)",
            _name(only),
        )
    return (), only


def load_issuing_ca(options: IntermediateOptions) -> IssuingCA:
    """Read and check the issuing CA named by ``options``.

    Checks: every file is readable PEM; the key matches the first certificate of ``ca_cert``;
    every certificate is a CA allowed to sign and valid now; each one is signed by the next and
    the last by the trust anchor.

    Raises:
        InputError: a file is missing or malformed, or one of the checks failed (the message
            says which certificate and file; the hint what to do).
        ConfigError: the passphrase reference cannot be resolved.
    """
    certs = load_certs(_read(options.ca_cert, "ca_cert"), source=str(options.ca_cert))
    key = _load_key(options)
    issuing = certs[0]
    if not key_matches_cert(key, issuing):
        raise tlsprov.InputError(
            f"{options.ca_key} does not match the certificate {_name(issuing)} in "
            f"{options.ca_cert}",
            hint="point ca_key at the intermediate CA's own private key",
        )
    chain, root = _trust_anchor(options, certs)
    now = now_utc()
    root_where = str(options.root_cert or options.ca_cert)
    for cert in chain:
        _check_ca(cert, str(options.ca_cert), now)
    _check_ca(root, root_where, now)
    for child, parent in itertools.pairwise([*chain, root]):
        if not _signed_by(child, parent):
            raise tlsprov.InputError(
                f"{_name(child)} is not signed by {_name(parent)}: the chain from "
                f"{options.ca_cert} does not lead to {root_where}",
                hint=f"{_HINT_FILES}: root_cert must be the CA that issued the intermediate",
            )
    return IssuingCA(cert=issuing, key=key, chain=chain, root=root)
