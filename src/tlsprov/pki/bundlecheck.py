"""Check an issued bundle before anything is installed: key, chain, names, dates, usage."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsprov.errors import LintError
from tlsprov.models import IssuedBundle
from tlsprov.pki.bundleio import plain_key_hint
from tlsprov.pki.keykind import is_private_key
from tlsprov.pki.lint import extension_map, lint_certificate
from tlsprov.pki.made import recall
from tlsprov.pki.x509 import (
    covers,
    key_matches_cert,
    load_certs,
    load_private_key,
    now_utc,
    parse_identity,
    san_identities,
    signed_by,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["check_bundle", "check_client_bundle"]

_HINT = "issue a new certificate that fixes this (tlsprov issue), then install again"
#: What to do about a warning, appended to it (issue and install print the same line).
_ADVICE = {
    "ca-without-key-usage": "Docker and Go clients still accept it; to satisfy strict clients "
    "too, make a new CA with 'tlsprov ca init', issue again and install the new ca.crt",
}


def _chain_problems(
    leaf: x509.Certificate, chain: Sequence[x509.Certificate], ca: x509.Certificate
) -> list[str]:
    """The leaf must be signed by chain[0] (or the CA), each element by the next, the last by
    the CA, unless the CA is itself the last element."""
    issuers = list(chain)
    if not issuers or issuers[-1] != ca:  # certificates compare by their DER
        issuers.append(ca)
    if not signed_by(leaf, issuers[0]) and not signed_by(leaf, ca):
        return [
            f"the certificate is not signed by {issuers[0].subject.rfc4514_string()} "
            "(the chain does not lead to the CA in ca.crt)"
        ]
    if not chain or not signed_by(leaf, issuers[0]):
        return []
    for child, parent in itertools.pairwise(issuers):
        if not signed_by(child, parent):
            return [
                f"chain certificate {child.subject.rfc4514_string()} is not signed by "
                f"{parent.subject.rfc4514_string()} (the chain does not lead to the CA)"
            ]
    return []


def _date_problems(cert: x509.Certificate, what: str, now: dt.datetime) -> list[str]:
    if now < cert.not_valid_before_utc:
        return [f"{what} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"]
    if now > cert.not_valid_after_utc:
        return [f"{what} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"]
    return []


def _eku(cert: x509.Certificate, wanted: str) -> bool | None:
    """True/False when an EKU extension exists (with/without ``wanted``); None when absent."""
    oid = getattr(ExtendedKeyUsageOID, wanted)
    eku = extension_map(cert).get(x509.ExtendedKeyUsage)
    if not isinstance(eku, x509.ExtendedKeyUsage):
        return None
    return oid in eku or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in eku


def _alt_name_problems(leaf: x509.Certificate, alt_names: Sequence[str]) -> list[str]:
    if not alt_names:
        return []
    dns, ips = san_identities(leaf)
    if not dns and not ips:
        return []  # lint already reports the missing subjectAltName
    problems: list[str] = []
    for ident in alt_names:
        if covers(dns, ips, ident):
            continue
        if isinstance(parse_identity(ident), str):
            problems.append(f"{ident} is not in the certificate's subjectAltName")
        else:
            problems.append(f"{ident} is an IP address but the certificate has no IP SAN for it")
    return problems


def _made_key(pem: bytes) -> PrivateKeyTypes | None:
    """The key object ``pem`` was just serialised from in this process (see
    :mod:`tlsprov.pki.made`): no second parse, no second RSA consistency check."""
    made = recall(pem)
    return made if is_private_key(made) else None


def _made_cert(pem: bytes) -> x509.Certificate | None:
    """The certificate ``pem`` was just serialised from in this process, else ``None``."""
    made = recall(pem)
    return made if isinstance(made, x509.Certificate) else None


@functools.lru_cache(maxsize=64)
def _issuer_cert(pem: bytes, source: str) -> x509.Certificate:
    """A chain or CA certificate, parsed once: bulk issuance returns the same ones each time."""
    return load_certs(pem, source=source)[0]


_ISSUER_LINTS: dict[tuple[bytes, str, tuple[int, ...]], tuple[list[str], list[str]]] = {}


def _issuer_lint(
    pem: bytes, cert: x509.Certificate, what: str, now: dt.datetime
) -> tuple[list[str], list[str]]:
    """:func:`_lint` of a chain or CA certificate (``cert``, parsed from ``pem``) at ``now``,
    reused for the rest of that minute: bulk issuance checks the same issuers again and again."""
    key = (
        pem,
        what,
        (now.year, now.month, now.day, now.hour, now.minute),
    )  # cheaper than replace()
    found = _ISSUER_LINTS.get(key)
    if found is None:
        if len(_ISSUER_LINTS) >= 64:
            _ISSUER_LINTS.clear()
        found = _ISSUER_LINTS[key] = _lint(cert, what=what, now=now)
    return found


def _lint(
    cert: x509.Certificate,
    *,
    what: str,
    host: str | None = None,
    ca: x509.Certificate | None = None,
    now: dt.datetime,
) -> tuple[list[str], list[str]]:
    """Errors and warnings from :mod:`tlsprov.pki.lint`, each prefixed with ``what``.

    The installer is stricter than lint in one place: a leaf whose CN equals its CA's CN is
    refused (Harbor's guide invites reusing one ``-subj``, and clients then take the leaf for
    its own issuer). serverAuth is checked by :func:`check_bundle` itself.
    """
    errors: list[str] = []
    warnings: list[str] = []
    for finding in lint_certificate(cert, host=host, ca=ca, now=now):
        if finding.code == "missing-server-auth":
            continue
        text = f"{what}: {finding.message}"
        if finding.code in _ADVICE:
            text = f"{text}; {_ADVICE[finding.code]}"
        if finding.level == "error" or finding.code == "cn-equals-ca-cn":
            errors.append(text)
        else:
            warnings.append(text)
    return errors, warnings


def check_bundle(
    bundle: IssuedBundle,
    *,
    host: str,
    alt_names: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> list[str]:
    """Refuse a server bundle that would not work for ``host``; return harmless warnings.

    Checks that the key matches the leaf, the chain leads to ``ca_pem``, the SANs (never the
    CN) cover ``host`` and every alt name, the leaf and CA are within their validity, and the
    leaf allows serverAuth.

    Raises:
        InputError: a PEM block or the key is malformed, or ``host`` is not a valid name.
        LintError: one or more problems (all listed); nothing should be installed.
    """
    when = now or now_utc()
    identities = [host, *alt_names]
    for ident in identities:
        parse_identity(ident)
    key = _made_key(bundle.private_key_pem) or load_private_key(
        bundle.private_key_pem, source="the bundle's key", encrypted_hint=plain_key_hint("H")
    )
    leaf = (
        _made_cert(bundle.leaf_pem)
        or load_certs(bundle.leaf_pem, source="the bundle's certificate")[0]
    )
    chain = [_issuer_cert(pem, "the bundle's chain") for pem in bundle.chain_pem]
    ca = _issuer_cert(bundle.ca_pem, "the bundle's ca.crt")

    problems: list[str] = []
    warnings: list[str] = []
    if not key_matches_cert(key, leaf):
        position = next((i for i, c in enumerate(chain, 2) if key_matches_cert(key, c)), None)
        if position is None:
            problems.append("the private key does not match the certificate")
        else:
            problems.append(
                f"the chain is in the wrong order: the key's certificate is certificate "
                f"{position} of {len(chain) + 1} (put the leaf first, then each issuer)"
            )
    problems += _chain_problems(leaf, chain, ca)
    errs, warns = _lint(leaf, what="certificate", host=host, ca=ca, now=when)
    problems += errs
    warnings += warns
    for pem, cert, what in [
        *[(p, c, f"chain certificate {c.subject.rfc4514_string()}") for p, c in
          zip(bundle.chain_pem, chain, strict=True)],
        (bundle.ca_pem, ca, "CA certificate"),
    ]:  # fmt: skip
        errs, warns = _issuer_lint(pem, cert, what, when)
        problems += errs
        warnings += warns
    problems += _alt_name_problems(leaf, alt_names)
    server_auth = _eku(leaf, "SERVER_AUTH")
    if server_auth is False:
        problems.append("certificate: its extendedKeyUsage does not allow serverAuth")
    elif server_auth is None:
        warnings.append("certificate: no extendedKeyUsage; serverAuth is implied")
    if problems:
        raise LintError(_dedupe(problems), hint=_HINT)
    return warnings


def check_client_bundle(bundle: IssuedBundle, *, now: dt.datetime | None = None) -> list[str]:
    """Refuse a client (mTLS) bundle whose key, chain or dates are wrong; return warnings.

    Raises:
        InputError: malformed PEM or key.
        LintError: the key does not match, the chain is broken, the certificate is out of date
            or does not allow clientAuth.
    """
    when = now or now_utc()
    key = load_private_key(
        bundle.private_key_pem,
        source="the client bundle's key",
        encrypted_hint=plain_key_hint("client"),
    )
    leaf = load_certs(bundle.leaf_pem, source="the client certificate")[0]
    chain = [load_certs(pem, source="the client chain")[0] for pem in bundle.chain_pem]
    ca = load_certs(bundle.ca_pem, source="the client bundle's ca.crt")[0]
    problems: list[str] = []
    warnings: list[str] = []
    if not key_matches_cert(key, leaf):
        problems.append("the client key does not match the client certificate")
    problems += _chain_problems(leaf, chain, ca)
    problems += _date_problems(leaf, "the client certificate", when)
    client_auth = _eku(leaf, "CLIENT_AUTH")
    if client_auth is False:
        problems.append("the client certificate's extendedKeyUsage does not allow clientAuth")
    elif client_auth is None:
        warnings.append("the client certificate has no extendedKeyUsage; clientAuth is implied")
    if problems:
        raise LintError(
            _dedupe(problems),
            hint="issue a client certificate with 'tlsprov issue NAME --client' and install again",
        )
    return warnings


def _dedupe(items: Sequence[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
