"""Describe certificates for people and for JSON: names, validity, key, extensions, lint.

Used by ``tlsprov inspect``. :func:`read_certificates` accepts a PEM file (one certificate or a
chain) or a single DER certificate; :func:`describe_certificate` returns a JSON-ready mapping and
:func:`format_description` the human lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError
from tlsprov.pki.lint import lint_certificate
from tlsprov.pki.x509 import describe_key, fingerprint, load_certs, now_utc, san_identities

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["describe_certificate", "describe_file", "format_description", "read_certificates"]


def read_certificates(path: Path) -> list[x509.Certificate]:
    """Read every certificate in ``path`` (PEM, possibly a chain, or one DER certificate).

    Raises:
        InputError: the file is missing, unreadable, or holds no well-formed certificate.
    """
    from cryptography import x509

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", hint="check the path") from None
    except IsADirectoryError:
        raise InputError(
            f"{path} is a folder, not a file", hint="pass a certificate file"
        ) from None
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
        ) from exc
    if b"-----BEGIN" in data:
        return load_certs(data, source=str(path))
    if data[:1] == b"\x30":
        try:
            return [x509.load_der_x509_certificate(data)]
        except ValueError as exc:
            raise InputError(
                f"{path} holds a malformed DER certificate", hint="pass a PEM or DER certificate"
            ) from exc
    raise InputError(
        f"{path} holds no certificate (neither PEM nor DER)",
        hint="pass a PEM file starting with -----BEGIN CERTIFICATE----- or a DER certificate",
    )


def _hex(data: bytes) -> str:
    return data.hex(":").upper()


def _general_names(names: Any) -> list[str]:
    from cryptography import x509

    out: list[str] = []
    for gn in names:
        if isinstance(gn, x509.DNSName):
            out.append(f"DNS:{gn.value}")
        elif isinstance(gn, x509.IPAddress):
            out.append(f"IP:{gn.value}")
        elif isinstance(gn, x509.RFC822Name):
            out.append(f"email:{gn.value}")
        elif isinstance(gn, x509.UniformResourceIdentifier):
            out.append(f"URI:{gn.value}")
        elif isinstance(gn, x509.DirectoryName):
            out.append(f"DirName:{gn.value.rfc4514_string()}")
        else:
            out.append(f"{type(gn).__name__}:{gn.value!r}")
    return out


_KEY_USAGE_FLAGS = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def _key_usage(ku: x509.KeyUsage) -> str:
    flags = [label for attr, label in _KEY_USAGE_FLAGS if getattr(ku, attr)]
    if ku.key_agreement:
        if ku.encipher_only:
            flags.append("encipherOnly")
        if ku.decipher_only:
            flags.append("decipherOnly")
    return ", ".join(flags)


def _extension_value(value: x509.ExtensionType) -> str:
    """A readable one-line rendering of an extension's value."""
    from cryptography import x509

    if isinstance(value, x509.BasicConstraints):
        text = f"CA:{'TRUE' if value.ca else 'FALSE'}"
        return text if value.path_length is None else f"{text}, pathlen:{value.path_length}"
    if isinstance(value, x509.KeyUsage):
        return _key_usage(value)
    if isinstance(value, x509.ExtendedKeyUsage):
        return ", ".join(oid._name for oid in value)
    if isinstance(value, x509.SubjectAlternativeName | x509.IssuerAlternativeName):
        return ", ".join(_general_names(value))
    if isinstance(value, x509.SubjectKeyIdentifier):
        return _hex(value.digest)
    if isinstance(value, x509.AuthorityKeyIdentifier):
        parts = []
        if value.key_identifier is not None:
            parts.append(f"keyid:{_hex(value.key_identifier)}")
        if value.authority_cert_issuer:
            parts.append("issuer:" + "; ".join(_general_names(value.authority_cert_issuer)))
        if value.authority_cert_serial_number is not None:
            parts.append(f"serial:{value.authority_cert_serial_number:X}")
        return ", ".join(parts)
    if isinstance(value, x509.AuthorityInformationAccess):
        return ", ".join(
            f"{d.access_method._name}:{'; '.join(_general_names([d.access_location]))}"
            for d in value
        )
    if isinstance(value, x509.CRLDistributionPoints):
        uris = [n for dp in value for n in _general_names(dp.full_name or [])]
        return ", ".join(uris)
    if isinstance(value, x509.CertificatePolicies):
        return ", ".join(p.policy_identifier.dotted_string for p in value)
    if isinstance(value, x509.UnrecognizedExtension):
        return _hex(value.value)
    return str(value)


def describe_certificate(
    cert: x509.Certificate,
    *,
    issuer: x509.Certificate | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """Describe one certificate as a JSON-ready mapping.

    Args:
        cert: the certificate.
        issuer: its issuing certificate when known (used by the lint).
        host: a name clients will use; enables the lint's SAN coverage checks.
    """
    from cryptography.exceptions import UnsupportedAlgorithm

    dns_names, ips = san_identities(cert)
    key_label, key_bits = describe_key(cert.public_key())
    not_after = cert.not_valid_after_utc
    days_left = (not_after - now_utc()).days
    try:
        hash_algo = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        hash_algo = None
    extensions = [
        {
            "name": ext.oid._name,
            "oid": ext.oid.dotted_string,
            "critical": ext.critical,
            "value": _extension_value(ext.value),
        }
        for ext in cert.extensions
    ]
    findings = lint_certificate(cert, host=host, ca=issuer)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": f"{cert.serial_number:X}",
        "self_signed": cert.subject == cert.issuer,
        "dns_names": list(dns_names),
        "ip_addresses": [str(ip) for ip in ips],
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": days_left,
        "key_type": key_label,
        "key_size": key_bits,
        "signature_algorithm": cert.signature_algorithm_oid._name,
        "signature_hash": hash_algo.name if hash_algo is not None else None,
        "sha256": fingerprint(cert, "sha256"),
        "sha1": fingerprint(cert, "sha1"),
        "extensions": extensions,
        "lint": [f.as_dict() for f in findings],
    }


def describe_file(path: Path, *, host: str | None = None) -> list[dict[str, Any]]:
    """Describe every certificate in ``path``; each one's issuer is the next when it matches.

    Raises:
        InputError: see :func:`read_certificates`.
    """
    certs = read_certificates(path)
    described = []
    for index, cert in enumerate(certs):
        nxt = certs[index + 1] if index + 1 < len(certs) else None
        issuer = nxt if nxt is not None and nxt.subject == cert.issuer else None
        described.append(
            describe_certificate(cert, issuer=issuer, host=host if index == 0 else None)
        )
    return described


def format_description(desc: dict[str, Any], *, title: str = "certificate") -> list[str]:
    """The human-readable lines for one :func:`describe_certificate` result."""
    sans = [f"DNS:{n}" for n in desc["dns_names"]] + [f"IP:{a}" for a in desc["ip_addresses"]]
    lines = [
        f"{title}:",
        f"  subject:       {desc['subject']}",
        f"  issuer:        {desc['issuer']}",
        f"  serial:        {desc['serial']}",
        f"  names (SAN):   {', '.join(sans) or '(none)'}",
        f"  not before:    {desc['not_before']}",
        f"  not after:     {desc['not_after']} ({desc['days_left']} days left)",
        f"  key:           {desc['key_type']} {desc['key_size']} bits",
        f"  signature:     {desc['signature_algorithm']}",
        f"  sha256:        {desc['sha256']}",
        f"  sha1:          {desc['sha1']}",
        "  extensions:",
    ]
    for ext in desc["extensions"]:
        crit = " (critical)" if ext["critical"] else ""
        lines.append(f"    {ext['name']}{crit}: {ext['value']}")
    if not desc["extensions"]:
        lines.append("    (none)")
    for finding in desc["lint"]:
        lines.append(f"  lint {finding['level']}: {finding['message']} [{finding['code']}]")
    return lines
