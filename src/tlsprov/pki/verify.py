"""Check a live registry endpoint the way a strict client would, trusting only one CA.

:func:`verify_endpoint` makes its own TLS handshake (never ``docker login``, which skips
verification for loopback registries), checks the served certificate's names, usage and days
left with cryptography, and asks ``GET /v2/`` over the same connection. Remote problems become
failed checks in the :class:`VerifyReport`; only bad arguments raise.
"""

from __future__ import annotations

import datetime as dt
import math
import socket
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError
from tlsprov.pki.x509 import (
    covers,
    fingerprint,
    load_certs,
    now_utc,
    parse_identity,
    san_identities,
)

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["Check", "VerifyReport", "verify_endpoint"]


@dataclass(frozen=True, slots=True)
class Check:
    """One verification step: its name, whether it held, and a human detail."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """What :func:`verify_endpoint` found.

    Attributes:
        host: the name (or IP) verified against the certificate.
        port: the port in the registry name.
        connect: the address actually dialled.
        checks: every step, in order.
        subject: the served leaf's subject (RFC 4514), when one was seen.
        sans: its DNS and IP SANs.
        not_after: its expiry (UTC).
        days_left: whole days until expiry (negative once expired).
        tls_version: the negotiated protocol.
        http_status: the ``GET /v2/`` status code.
        fingerprint_sha256: the served leaf's SHA-256 fingerprint (tells a renewed
            certificate from the old one still being served).
    """

    host: str
    port: int
    connect: tuple[str, int]
    checks: tuple[Check, ...]
    subject: str | None = None
    sans: tuple[str, ...] = ()
    not_after: dt.datetime | None = None
    days_left: int | None = None
    tls_version: str | None = None
    http_status: int | None = None
    fingerprint_sha256: str | None = None

    @property
    def ok(self) -> bool:
        """True when at least one check ran and every check held."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks that did not hold."""
        return tuple(c for c in self.checks if not c.ok)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "ok": self.ok,
            "host": self.host,
            "port": self.port,
            "connect": f"{self.connect[0]}:{self.connect[1]}",
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "subject": self.subject,
            "sans": list(self.sans),
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "days_left": self.days_left,
            "tls_version": self.tls_version,
            "http_status": self.http_status,
            "fingerprint_sha256": self.fingerprint_sha256,
        }


@dataclass
class _Facts:
    checks: list[Check] = field(default_factory=list)
    subject: str | None = None
    sans: tuple[str, ...] = ()
    not_after: dt.datetime | None = None
    days_left: int | None = None
    tls_version: str | None = None
    http_status: int | None = None
    fingerprint_sha256: str | None = None
    suffix: str = ""

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail + self.suffix))


def _validate(host: str, port: int, connect: tuple[str, int], timeout: float) -> str:
    ident = parse_identity(host)
    if isinstance(ident, str) and ident.startswith("*."):
        raise InputError(f"cannot verify the wildcard name {host}", hint="pass a concrete host")
    for what, value in (("port", port), ("connect port", connect[1])):
        if not isinstance(value, int) or not 0 < value < 65536:
            raise InputError(f"{what} {value} is out of range", hint="use 1 to 65535")
    if not connect[0]:
        raise InputError("an empty connect address was given", hint="pass ADDR[:PORT]")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise InputError(f"timeout must be positive, got {timeout}")
    return str(ident)


def _context(ca_pem: bytes) -> ssl.SSLContext:
    load_certs(ca_pem, source="the CA file")
    try:
        ctx = ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError) as exc:
        raise InputError(f"the CA file cannot be used as a trust anchor ({exc})") from exc
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.check_hostname = True
    ctx.hostname_checks_common_name = False
    return ctx


def _ssl_reason(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    return exc.reason or str(exc)


def _peek_leaf(connect: tuple[str, int], host: str, timeout: float) -> bytes | None:
    """The leaf a server presents, fetched without verification (for the report only)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection(connect, timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            return tls.getpeercert(binary_form=True)
    except (OSError, ValueError):
        return None


def _http_answer(connect: tuple[str, int], host: str, timeout: float) -> str | None:
    """The status line a plain-HTTP server gives to ``HEAD /``, or None when it is no HTTP."""
    request = f"HEAD / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode("ascii", "replace")
    try:
        with socket.create_connection(connect, timeout=timeout) as raw:
            raw.sendall(request)
            first = raw.recv(256)
    except OSError:
        return None
    if not first.startswith(b"HTTP/"):
        return None
    return first.split(b"\r\n", 1)[0][:80].decode("ascii", "replace")


def _check_leaf(
    der: bytes, host: str, min_days: int, facts: _Facts, now: dt.datetime, *, trusted: bool
) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    if not trusted:  # still worth reporting, but say the certificate was not trusted
        facts.suffix = " (untrusted certificate)"
    leaf = x509.load_der_x509_certificate(der)
    facts.fingerprint_sha256 = fingerprint(leaf)
    dns, ips = san_identities(leaf)
    facts.subject = leaf.subject.rfc4514_string()
    facts.sans = (*dns, *(str(ip) for ip in ips))
    facts.not_after = leaf.not_valid_after_utc
    facts.days_left = (leaf.not_valid_after_utc - now).days
    if not dns and not ips:
        facts.add("names", False, "the certificate has no subjectAltName (CN-only)")
    elif covers(dns, ips, host):
        facts.add("names", True, f"subjectAltName covers {host}")
    else:
        facts.add("names", False, f"subjectAltName ({', '.join(facts.sans)}) misses {host}")
    eku = _ext(leaf, x509.ExtendedKeyUsage)
    if eku is None:
        facts.add("server-auth", True, "no extendedKeyUsage (any use allowed)")
    elif ExtendedKeyUsageOID.SERVER_AUTH in eku:
        facts.add("server-auth", True, "extendedKeyUsage includes serverAuth")
    else:
        facts.add("server-auth", False, "extendedKeyUsage lacks serverAuth")
    left = facts.days_left
    if now > leaf.not_valid_after_utc:
        facts.add("days-left", False, f"expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    elif left < min_days:
        facts.add("days-left", False, f"{left} days left (fewer than {min_days})")
    else:
        facts.add("days-left", True, f"{left} days left (until {facts.not_after:%Y-%m-%d})")


def _ext(cert: x509.Certificate, kind: type[x509.ExtendedKeyUsage]) -> x509.ExtendedKeyUsage | None:
    from cryptography import x509

    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _host_header(host: str, port: int) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == 443 else f"{name}:{port}"


def _probe_v2(tls: ssl.SSLSocket, host: str, port: int, facts: _Facts) -> None:
    import http.client

    request = (
        f"GET /v2/ HTTP/1.1\r\nHost: {_host_header(host, port)}\r\n"
        "User-Agent: tlsprov-verify\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    try:
        tls.sendall(request.encode("ascii"))
        response = http.client.HTTPResponse(tls)
        response.begin()
        challenge = response.getheader("WWW-Authenticate") or ""
        response.close()
    except (OSError, http.client.HTTPException) as exc:
        facts.add("v2", False, f"GET /v2/ failed: {exc or type(exc).__name__}")
        return
    status = response.status
    facts.http_status = status
    if status == 200:
        facts.add("v2", True, "GET /v2/ answered 200 (registry API without authentication)")
    elif status == 401:
        scheme = challenge.split(" ", 1)[0] if challenge else "no"
        facts.add("v2", True, f"GET /v2/ answered 401 with a {scheme} challenge (registry API)")
    else:
        facts.add("v2", False, f"GET /v2/ answered {status} {response.reason}; expected 200 or 401")


def verify_endpoint(
    host: str,
    port: int = 443,
    *,
    ca_pem: bytes,
    connect: tuple[str, int] | None = None,
    timeout: float = 10.0,
    probe_v2: bool = True,
    min_days: int = 14,
) -> VerifyReport:
    """Handshake with ``connect`` (default ``(host, port)``) trusting only ``ca_pem``.

    Checks the chain and hostname (strict X.509, CN ignored), the SANs, serverAuth and the
    days left, then sends ``GET /v2/`` on the same connection expecting 200 or 401.

    Raises:
        InputError: a bad host, port, timeout or CA (remote problems never raise).
    """
    address = connect if connect is not None else (host, port)
    name = _validate(host, port, address, timeout)
    ctx = _context(ca_pem)
    facts = _Facts()
    now = now_utc()
    where = f"{address[0]}:{address[1]}"
    try:
        raw = socket.create_connection(address, timeout=timeout)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        facts.add("connect", False, f"cannot connect to {where}: {reason}")
        return _report(host, port, address, facts)
    facts.add("connect", True, f"connected to {where}")
    try:
        with raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
            facts.tls_version = tls.version()
            facts.add("handshake", True, f"{facts.tls_version}; chain verifies to the given CA")
            der = tls.getpeercert(binary_form=True)
            if der:
                _check_leaf(der, name, min_days, facts, now, trusted=True)
            if probe_v2:
                _probe_v2(tls, name, port, facts)
    except ssl.SSLError as exc:
        answer = (
            None
            if isinstance(exc, ssl.SSLCertVerificationError)
            else _http_answer(address, name, timeout)
        )
        if answer is not None:
            facts.add(
                "handshake",
                False,
                f"{where} speaks plain HTTP, not TLS (it answered '{answer}'); point at the "
                "port Harbor serves HTTPS on (https.port in harbor.yml)",
            )
            return _report(host, port, address, facts)
        facts.add("handshake", False, _ssl_reason(exc))
        der = _peek_leaf(address, name, timeout)
        if der:
            _check_leaf(der, name, min_days, facts, now, trusted=False)
    except OSError as exc:
        facts.add("handshake", False, f"TLS handshake failed: {exc.strerror or exc}")
    return _report(host, port, address, facts)


def _report(host: str, port: int, address: tuple[str, int], facts: _Facts) -> VerifyReport:
    return VerifyReport(
        host=host,
        port=port,
        connect=address,
        checks=tuple(facts.checks),
        subject=facts.subject,
        sans=facts.sans,
        not_after=facts.not_after,
        days_left=facts.days_left,
        tls_version=facts.tls_version,
        http_status=facts.http_status,
        fingerprint_sha256=facts.fingerprint_sha256,
    )
