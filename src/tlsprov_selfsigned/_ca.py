"""Create, load and validate the private CA kept in ``ca_dir`` as ``ca.key`` and ``ca.crt``."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tlsprov.errors import InputError
from tlsprov.fsops import PRIVATE_DIR, atomic_write, ensure_dir, refuse_symlinks, write_private
from tlsprov.models import KeyType
from tlsprov.pki.x509 import (
    cert_to_pem,
    describe_key,
    generate_key,
    key_matches_cert,
    load_certs,
    load_private_key,
    now_utc,
    public_der,
)

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes,
        PrivateKeyTypes,
    )

    from tlsprov.models import Usage
    from tlsprov_selfsigned._template import LeafTemplate

__all__ = [
    "CA_CRT",
    "CA_KEY",
    "CertificateAuthority",
    "build_ca",
    "ca_files",
    "ca_lock",
    "check_signing_key",
    "crypto_errors",
    "load_ca",
    "signature_hash",
    "write_ca",
]


CA_KEY = "ca.key"
CA_CRT = "ca.crt"
CLOCK_SKEW = dt.timedelta(minutes=1)
CA_LOCK_TIMEOUT = 120.0  # seconds another run may take to create the CA
_WEAK_HASHES = {"md5", "sha1", "sha224"}


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA certificate with its private key (never shown by ``repr``).

    What every leaf needs from the CA (its PEM, the authorityKeyIdentifier, the signature hash)
    is computed once here, not once per certificate.

    ``others`` are further CAs clients must keep trusting during a rollover (``ca.crt`` holds
    them after the signing certificate).
    """

    cert: x509.Certificate
    key: CertificateIssuerPrivateKeyTypes
    others: tuple[x509.Certificate, ...] = ()
    cert_pem: bytes = field(init=False, repr=False)
    public_der: bytes = field(init=False, repr=False)
    subject_der: bytes = field(init=False, repr=False)
    aki: x509.AuthorityKeyIdentifier = field(init=False, repr=False)
    hash: hashes.HashAlgorithm | None = field(init=False, repr=False)
    not_after: dt.datetime = field(init=False, repr=False)
    subject: x509.Name = field(init=False, repr=False)
    #: Leaf templates by kind (see :mod:`tlsprov_selfsigned._template`); None: use the builder.
    templates: dict[tuple[bool, Usage], LeafTemplate | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        from cryptography import x509

        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        object.__setattr__(self, "cert_pem", cert_to_pem(self.cert))
        object.__setattr__(self, "public_der", public_der(self.key.public_key()))
        object.__setattr__(self, "subject_der", self.cert.subject.public_bytes())
        object.__setattr__(self, "aki", aki)
        object.__setattr__(self, "hash", signature_hash(self.key))
        object.__setattr__(self, "not_after", self.cert.not_valid_after_utc)
        object.__setattr__(self, "subject", self.cert.subject)

    def __repr__(self) -> str:
        return f"CertificateAuthority(subject={self.cert.subject.rfc4514_string()!r})"

    @property
    def trust_pem(self) -> bytes:
        """What clients must trust: the signing CA first, then any other CA of a rollover."""
        if not self.others:
            return self.cert_pem
        return self.cert_pem + b"".join(cert_to_pem(c) for c in self.others)


@contextmanager
def crypto_errors(what: str) -> Iterator[None]:
    """Turn cryptography's ``ValueError``/``TypeError`` while doing ``what`` into InputError."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise crypto_error(what, exc) from exc


def crypto_error(what: str, exc: Exception) -> InputError:
    """The InputError for cryptography's ``exc`` while doing ``what`` (see crypto_errors)."""
    return InputError(f"could not {what}: {exc}", hint="check the subject, key type and validity")


def ca_files(ca_dir: Path) -> tuple[Path, Path]:
    """Return the paths of ``ca.key`` and ``ca.crt`` in ``ca_dir``."""
    return ca_dir / CA_KEY, ca_dir / CA_CRT


@contextmanager
def ca_lock(ca_dir: Path, *, timeout: float = CA_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive lock on ``ca_dir`` (created 0700 if missing) while a CA is created.

    The lock is ``flock`` on the folder itself, so no lock file is left behind and a killed
    holder releases it. A second run waits up to ``timeout`` seconds, then fails.

    Raises:
        InputError: the folder cannot be created or locked, or another run kept it too long.
    """
    import fcntl

    refuse_symlinks(ca_dir)
    ensure_dir(ca_dir, PRIVATE_DIR)
    fd = os.open(ca_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise InputError(
                        f"another run has been creating the CA in {ca_dir} for {timeout:g} s",
                        hint="wait for it to finish, then run again",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def signature_hash(
    key: PrivateKeyTypes,
) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The hash a CA key signs with: SHA-512 for RSA, the curve's own size for ECDSA.

    ECDSA pairs P-256 with SHA-256, P-384 with SHA-384 and P-521 with SHA-512 (RFC 5480 §4);
    Ed25519 takes no separate hash (``None``). SHA-1 is never used.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = key.curve.key_size
        if size <= 256:
            return hashes.SHA256()
        if size <= 384:
            return hashes.SHA384()
        return hashes.SHA512()
    from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    return hashes.SHA512()


def check_signing_key(key: PrivateKeyTypes, *, source: str) -> CertificateIssuerPrivateKeyTypes:
    """Return ``key`` if it may sign certificates: RSA >= 2048, EC P-256/384/521, Ed25519.

    Raises:
        InputError: a weak or unsupported key.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise InputError(
                f"{source} is an RSA key of {key.key_size} bits; at least 2048 are required",
                hint="create a new CA with --force (default RSA 4096)",
            )
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
            raise InputError(
                f"{source} uses the unsupported curve {key.curve.name}",
                hint="use a P-256, P-384 or P-521 key",
            )
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    kind, _ = describe_key(key.public_key())
    raise InputError(
        f"{source} is a {kind} key, which tlsprov does not sign with",
        hint="use an RSA (2048 bits or more), EC or Ed25519 key",
    )


def build_ca(subject: x509.Name, key_type: KeyType, days: int) -> CertificateAuthority:
    """Generate a key and a self-signed CA certificate that strict verifiers accept.

    Extensions: basicConstraints CA:TRUE (critical), keyUsage keyCertSign + cRLSign (critical),
    subjectKeyIdentifier and authorityKeyIdentifier (keyid).
    """
    from cryptography import x509

    key = check_signing_key(generate_key(key_type), source=f"a new {key_type.value} key")
    now = now_utc()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    with crypto_errors("build the CA certificate"):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
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
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
        )
        cert = builder.sign(key, signature_hash(key))
    return CertificateAuthority(cert=cert, key=key)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="check that the file exists and that you may read it",
        ) from exc


def _validate_ca_cert(cert: x509.Certificate, source: str) -> None:
    from cryptography import x509

    hint = "point ca_dir at a CA, or create one with 'tlsprov ca init --force'"
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = bc.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise InputError(
            f"{source} is not a CA certificate (no basicConstraints CA:TRUE)", hint=hint
        )
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        pass  # the host's bundle check warns about it at issue and at install, saying what to do
    else:
        if not ku.key_cert_sign:
            raise InputError(f"{source} may not sign certificates (no keyCertSign)", hint=hint)
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        algo = cert.signature_hash_algorithm
    except UnsupportedAlgorithm as exc:
        raise InputError(f"{source} uses an unsupported signature algorithm", hint=hint) from exc
    if algo is not None and algo.name in _WEAK_HASHES:
        raise InputError(
            f"{source} is signed with {algo.name.upper()}, which is too weak",
            hint="create a new CA with 'tlsprov ca init --force'",
        )
    now = now_utc()
    if cert.not_valid_before_utc > now:
        raise InputError(
            f"{source} is not valid before {cert.not_valid_before_utc.isoformat()}",
            hint="check the system clock, or create a new CA with 'tlsprov ca init --force'",
        )
    if cert.not_valid_after_utc <= now:
        raise InputError(
            f"{source} expired on {cert.not_valid_after_utc.isoformat()}",
            hint="create a new CA with 'tlsprov ca init --force' and distribute it again",
        )


def load_ca(ca_dir: Path, passphrase: Callable[[], bytes | None]) -> CertificateAuthority:
    """Load and validate ``ca.key`` and ``ca.crt`` from ``ca_dir``.

    ``passphrase`` is called only when the key is encrypted. PKCS#1, SEC1 and PKCS#8 keys load.
    A CA without keyUsage (the Harbor guide's) is accepted with a warning.

    Raises:
        InputError: unreadable or malformed files, a missing or wrong passphrase, a key that does
            not match the certificate, a certificate that is not a valid, current CA, a weak key.
    """
    key_path, crt_path = ca_files(ca_dir)
    key_data = _read(key_path)
    certs = load_certs(_read(crt_path), source=str(crt_path))
    password = passphrase() if b"ENCRYPTED" in key_data else None
    key = check_signing_key(
        load_private_key(key_data, password=password, source=str(key_path), skip_rsa_check=True),
        source=str(key_path),
    )
    cert = next((c for c in certs if key_matches_cert(key, c)), None)
    if cert is None:
        raise InputError(
            f"{key_path} does not belong to {crt_path}",
            hint="put the CA's own key next to its certificate",
        )
    _validate_ca_cert(cert, str(crt_path))
    return CertificateAuthority(cert=cert, key=key, others=tuple(c for c in certs if c != cert))


def write_ca(ca_dir: Path, ca: CertificateAuthority, passphrase: bytes | None) -> None:
    """Write ``ca.key`` (0600 in a 0700 folder; encrypted when ``passphrase``) and ``ca.crt``."""
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    key_pem = ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    key_path, crt_path = ca_files(ca_dir)
    for path in (key_path, crt_path):  # both checked first: never a new key beside an old cert
        refuse_symlinks(path, stop=ca_dir)
    write_private(key_path, key_pem)
    atomic_write(crt_path, ca.trust_pem, mode=0o644, dir_mode=0o700)
