"""Plain helpers for the example-plugin tests: paths, a small PKI builder, probes.

``conftest.py`` loads this file as the module ``tlsprov_example_helpers`` (pytest runs with
``--import-mode=importlib``), so the test file imports it by that name.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "tlsprov-example-provider"
DIST_NAME = "tlsprov-example-provider"
PACKAGE = "tlsprov_example_provider"
PROVIDER = "intermediate-ca"


def example_version() -> str:
    """The version in the example's pyproject.toml."""
    with (EXAMPLE / "pyproject.toml").open("rb") as fh:
        version: str = tomllib.load(fh)["project"]["version"]
    return version


def dist_installed() -> bool:
    """Whether the example distribution is installed in this virtualenv (asked anew)."""
    probe = subprocess.run(
        [sys.executable, "-c", f"import importlib.metadata as m; m.distribution({DIST_NAME!r})"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return probe.returncode == 0


# --------------------------------------------------------------------------- PKI


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsprov example test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    ca: bool = True,
    path_length: int | None = None,
    days: float = 3650,
    start: dt.timedelta = dt.timedelta(minutes=-5),
) -> x509.Certificate:
    """A certificate for ``key``: self-signed without ``issuer``, else signed by it."""
    now = dt.datetime.now(dt.UTC)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    usage = dict.fromkeys(
        ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
         "encipher_only", "decipher_only"),
        False,
    )  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + start)
        .not_valid_after(now + start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=ca, crl_sign=ca, **usage),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    """A certificate as PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    """A private key as PKCS#8 PEM, encrypted when ``password`` is given."""
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


@dataclass
class Pki:
    """A root CA and an intermediate it signed, with their files in ``folder``."""

    folder: Path
    root_key: ec.EllipticCurvePrivateKey = field(repr=False)
    root: x509.Certificate
    inter_key: ec.EllipticCurvePrivateKey = field(repr=False)
    inter: x509.Certificate

    @property
    def root_file(self) -> Path:
        return self.folder / "root.crt"

    @property
    def inter_file(self) -> Path:
        return self.folder / "intermediate.crt"

    @property
    def inter_key_file(self) -> Path:
        return self.folder / "intermediate.key"

    def options(self, **extra: Any) -> dict[str, Any]:
        """Provider options naming the three files (plus ``extra``)."""
        return {
            "ca_cert": str(self.inter_file),
            "ca_key": str(self.inter_key_file),
            "root_cert": str(self.root_file),
            "key_type": "ec256",
            **extra,
        }

    def write(self, name: str, data: bytes) -> Path:
        """Write another file into the folder; returns its path."""
        path = self.folder / name
        path.write_bytes(data)
        return path


def make_pki(folder: Path) -> Pki:
    """Root CA → intermediate CA (pathlen 0), ec256, written as root.crt, intermediate.*."""
    folder.mkdir(parents=True, exist_ok=True)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = make_cert("Example Test Root CA", root_key)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    inter = make_cert(
        "Example Test Intermediate CA", inter_key, issuer=(root, root_key), path_length=0
    )
    result = Pki(folder, root_key, root, inter_key, inter)
    result.write("root.crt", pem(root))
    result.write("intermediate.crt", pem(inter))
    result.write("intermediate.key", key_pem(inter_key)).chmod(0o600)
    return result
