"""Certificate lint: the mistakes that make registries and their clients fail.

:func:`lint_certificate` returns a list of :class:`Finding`. An ``"error"`` means the certificate
should not be used (``tlsprov issue`` refuses to write it, the installer refuses to install it); a
``"warning"`` is worth telling the user about. :func:`raise_on_errors` turns errors into a
:class:`~tlsprov.errors.LintError`.

Checks (codes in brackets):

- a leaf with no subjectAltName, e.g. CN-only: Go clients reject it [``cn-only``, ``no-san``]
- ``host`` is an IP address but there is no IP SAN [``ip-without-ip-san``]
- ``host`` is not covered by any SAN, whatever the CN says [``host-not-covered``]
- a CA without keyUsage [``ca-without-key-usage``, warning] or without keyCertSign
  [``ca-without-keycertsign``]
- expired [``expired``], not yet valid [``not-yet-valid``], expiring within ``warn_days``
  [``expiring-soon``, warning]
- RSA or DSA below 2048 bits, EC below 256 bits [``weak-key``]
- SHA-1 or MD5 signature [``weak-signature``]
- a leaf whose CN equals its CA's CN [``cn-equals-ca-cn``, warning]
- a server leaf without the serverAuth EKU [``missing-server-auth``, warning]
- a certificate not signed by itself without authorityKeyIdentifier [``missing-aki``], a CA
  without subjectKeyIdentifier [``ca-without-ski``]: strict verifiers (``tlsprov verify``,
  Python 3.13, ``openssl verify -x509_strict``) reject the chain
- an EC or Ed25519 leaf whose keyUsage lacks digitalSignature (such a key cannot encipher, so
  keyEncipherment alone lets it do nothing in TLS) [``ec-without-digital-signature``]
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsprov.errors import LintError
from tlsprov.models import Usage
from tlsprov.pki.made import per_object, provenance
from tlsprov.pki.x509 import covers, describe_key, now_utc, parse_identity, san_values

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

    from tlsprov.models import IPAddress

__all__ = [
    "Finding",
    "errors",
    "extension_map",
    "is_ca",
    "lint_certificate",
    "raise_on_errors",
    "warnings",
]

Level = Literal["error", "warning"]
_E = TypeVar("_E", bound=x509.ExtensionType)
#: A certificate's extensions by value type, read once per lint.
_Exts = Mapping[type[x509.ExtensionType], x509.ExtensionType]

#: Days before expiry from which ``expiring-soon`` is reported.
EXPIRY_WARN_DAYS = 30


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint result.

    Attributes:
        level: ``"error"`` (do not use the certificate) or ``"warning"``.
        code: a stable short identifier such as ``"cn-only"``.
        message: one human line saying what is wrong.
    """

    level: Level
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The finding as a JSON-ready mapping."""
        return {"level": self.level, "code": self.code, "message": self.message}


def is_ca(cert: x509.Certificate) -> bool:
    """True when ``cert`` has basicConstraints with ``CA:TRUE``."""
    return _is_ca(extension_map(cert))


def _is_ca(exts: _Exts) -> bool:
    bc = _ext(exts, x509.BasicConstraints)
    return bc is not None and bc.ca


def extension_map(cert: x509.Certificate) -> _Exts:
    """``cert``'s extensions by value type (``x509.KeyUsage`` -> its value), read once; for a
    certificate made in this process, the values it was made from (nothing to parse back)."""
    made = provenance(cert)
    if made is not None and made.extensions is not None:
        return made.extensions
    return _parsed_extensions(cert)


@functools.lru_cache(maxsize=16)  # the bundle check reads the leaf's SAN and EKU too
def _parsed_extensions(cert: x509.Certificate) -> _Exts:
    return {type(e.value): e.value for e in cert.extensions}


_CA_NAMES: dict[int, tuple[object, str | None]] = {}


def _ca_common_name(ca: x509.Certificate) -> str | None:
    return per_object(_CA_NAMES, ca, lambda: _common_name(ca.subject), size=16)


def _common_name(name: x509.Name) -> str | None:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _ext(exts: _Exts, kind: type[_E]) -> _E | None:
    found = exts.get(kind)
    return found if isinstance(found, kind) else None


def _san_identities(exts: _Exts) -> tuple[list[str], list[IPAddress]]:
    san = _ext(exts, x509.SubjectAlternativeName)
    return ([], []) if san is None else san_values(san)


def _check_validity(cert: x509.Certificate, now: dt.datetime, warn_days: int) -> list[Finding]:
    not_before = cert.not_valid_before_utc
    not_after = cert.not_valid_after_utc
    if now > not_after:
        return [Finding("error", "expired", f"expired on {not_after:%Y-%m-%d %H:%M} UTC")]
    if now < not_before:
        return [
            Finding("error", "not-yet-valid", f"not valid before {not_before:%Y-%m-%d %H:%M} UTC")
        ]
    left = not_after - now
    if left < dt.timedelta(days=warn_days):
        return [
            Finding(
                "warning",
                "expiring-soon",
                f"expires in {left.days} day(s), on {not_after:%Y-%m-%d} "
                f"(less than {warn_days} days)",
            )
        ]
    return []


_WEAK_HASHES = (hashes.SHA1.name, hashes.MD5.name)


def _check_key_and_signature(cert: x509.Certificate, key: PublicKeyTypes) -> list[Finding]:
    found: list[Finding] = []
    label, bits = describe_key(key)
    minimum = 2048 if label in ("RSA", "DSA") else 256 if label.startswith("EC ") else 0
    if bits < minimum:
        found.append(
            Finding("error", "weak-key", f"{label} key of {bits} bits is too weak (< {minimum})")
        )
    try:
        algo = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algo = None
    if algo is not None and algo.name in _WEAK_HASHES:  # by name: no ABC check per leaf
        found.append(
            Finding(
                "error",
                "weak-signature",
                f"signed with {algo.name.upper()}, which clients reject; re-issue with SHA-256+",
            )
        )
    return found


_STRICT = "strict verifiers (tlsprov verify, Python 3.13, openssl -x509_strict) reject it"


def _check_key_ids(cert: x509.Certificate, exts: _Exts) -> list[Finding]:
    found: list[Finding] = []
    if _ext(exts, x509.AuthorityKeyIdentifier) is None and cert.issuer != cert.subject:
        found.append(
            Finding("error", "missing-aki", f"certificate has no authorityKeyIdentifier; {_STRICT}")
        )
    if _is_ca(exts) and _ext(exts, x509.SubjectKeyIdentifier) is None:
        found.append(
            Finding(
                "error",
                "ca-without-ski",
                f"CA certificate has no subjectKeyIdentifier; {_STRICT}",
            )
        )
    return found


def _check_ca(exts: _Exts) -> list[Finding]:
    ku = _ext(exts, x509.KeyUsage)
    if ku is None:
        return [
            Finding(
                "warning",
                "ca-without-key-usage",
                "CA certificate has no keyUsage; strict verifiers (Python 3.13, "
                "openssl -x509_strict) reject it",
            )
        ]
    if not ku.key_cert_sign:
        return [
            Finding(
                "error",
                "ca-without-keycertsign",
                "CA certificate's keyUsage lacks keyCertSign, so it cannot sign certificates",
            )
        ]
    return []


def _check_signing_key_usage(key: PublicKeyTypes, exts: _Exts) -> list[Finding]:
    ku = _ext(exts, x509.KeyUsage)
    if ku is None or ku.digital_signature:
        return []
    signing_only = isinstance(
        key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
    )
    if not signing_only:
        return []
    return [
        Finding(
            "error",
            "ec-without-digital-signature",
            f"keyUsage lacks digitalSignature, which an {describe_key(key)[0]} key needs to "
            "sign the TLS handshake (keyEncipherment does not apply to it); OpenSSL servers "
            "then fail every TLS 1.2 handshake with 'no shared cipher'",
        )
    ]


def _check_leaf(
    cert: x509.Certificate,
    cn: str | None,
    key: PublicKeyTypes,
    exts: _Exts,
    host: str | None,
    ca: x509.Certificate | None,
    usage: Usage | None,
) -> list[Finding]:
    found: list[Finding] = []
    has_san = _ext(exts, x509.SubjectAlternativeName) is not None
    if not has_san:
        if cn is not None:
            found.append(
                Finding(
                    "error",
                    "cn-only",
                    f"certificate names '{cn}' only in the CN and has no subjectAltName; "
                    "Go clients (docker, containerd) reject it",
                )
            )
        else:
            found.append(Finding("error", "no-san", "certificate has no subjectAltName"))
    dns_names, ips = _san_identities(exts)
    if host is not None:
        ident = parse_identity(host)
        if not isinstance(ident, str) and not ips:
            found.append(
                Finding(
                    "error",
                    "ip-without-ip-san",
                    f"{host} is an IP address but the certificate has no IP SAN",
                )
            )
        elif not covers(dns_names, ips, host):
            sans = ", ".join([*dns_names, *(str(ip) for ip in ips)]) or "none"
            found.append(
                Finding(
                    "error",
                    "host-not-covered",
                    f"{host} is not in the certificate's subjectAltName (SANs: {sans})",
                )
            )
    found += _check_signing_key_usage(key, exts)
    if ca is not None and cn is not None and cn == _ca_common_name(ca):
        found.append(
            Finding(
                "warning",
                "cn-equals-ca-cn",
                f"the certificate's CN '{cn}' equals its CA's CN; some clients confuse them",
            )
        )
    server = usage.server if usage is not None else host is not None
    if server:
        eku = _ext(exts, x509.ExtendedKeyUsage)
        if eku is not None and ExtendedKeyUsageOID.SERVER_AUTH not in list(eku):
            found.append(
                Finding(
                    "warning",
                    "missing-server-auth",
                    "extendedKeyUsage lacks serverAuth; TLS clients may refuse the server",
                )
            )
    return found


def lint_certificate(
    cert: x509.Certificate,
    *,
    host: str | None = None,
    ca: x509.Certificate | None = None,
    usage: Usage | None = None,
    now: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARN_DAYS,
) -> list[Finding]:
    """Check ``cert`` for the mistakes that break TLS clients.

    Args:
        cert: the certificate to check (a leaf or a CA).
        host: the name or IP clients will use; enables the SAN coverage checks.
        ca: the issuing CA, for the "leaf CN equals CA CN" check.
        usage: how a leaf is used; ``Usage.SERVER`` enables the serverAuth check. ``None``
            means server use when ``host`` is given, no EKU check otherwise.
        now: the reference time (default: now, UTC).
        warn_days: report ``expiring-soon`` when fewer days than this are left.

    Returns:
        The findings, errors and warnings in check order; empty when all is well.

    Raises:
        InputError: ``host`` is not a valid name or IP address.
    """
    when = now if now is not None else now_utc()
    exts = extension_map(cert)
    found = _check_validity(cert, when, warn_days)
    made = provenance(cert)  # made here: its key object is at hand; else decoded once
    key = made.subject_key if made is not None else cert.public_key()
    found += _check_key_and_signature(cert, key)
    found += _check_key_ids(cert, exts)
    if _is_ca(exts):
        found += _check_ca(exts)
    else:
        cn = made.common_name if made is not None else None  # no Name to decode
        found += _check_leaf(cert, cn or _common_name(cert.subject), key, exts, host, ca, usage)
    return found


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """Only the ``"error"`` findings."""
    return [f for f in findings if f.level == "error"]


def warnings(findings: Iterable[Finding]) -> list[Finding]:
    """Only the ``"warning"`` findings."""
    return [f for f in findings if f.level == "warning"]


def raise_on_errors(findings: Sequence[Finding], *, what: str = "certificate") -> None:
    """Raise :class:`~tlsprov.errors.LintError` if any finding is an error.

    Args:
        findings: the result of :func:`lint_certificate`.
        what: names the checked certificate in the message, e.g. ``"issued certificate"``.
    """
    bad = errors(findings)
    if bad:
        raise LintError(
            [f"{what}: {f.message}" for f in bad],
            hint="nothing was written; fix the request or the CA and try again",
        )
