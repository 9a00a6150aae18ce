"""The demo's client-side checks: the strict verification and two negative controls."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

from tlsprov.errors import VerifyError
from tlsprov.models import IssuedBundle
from tlsprov.pki.x509 import describe_key, fingerprint, load_cert, san_identities

__all__ = ["describe_certificate", "expect_refusal"]

_TIMEOUT = 10.0


def describe_certificate(bundle: IssuedBundle) -> dict[str, Any]:
    """A few facts about the leaf and the CA, for the report."""
    leaf = load_cert(bundle.leaf_pem, source="leaf")
    ca = load_cert(bundle.ca_pem, source="ca.crt")
    dns, ips = san_identities(leaf)
    kind, bits = describe_key(leaf.public_key())
    return {
        "subject": leaf.subject.rfc4514_string(),
        "issuer": ca.subject.rfc4514_string(),
        "san": [*dns, *(str(ip) for ip in ips)],
        "key": f"{kind} {bits}",
        "not_after": leaf.not_valid_after_utc.isoformat(),
        "sha256": fingerprint(leaf),
        "ca_sha256": fingerprint(ca),
    }


def _strict_client(cafile: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.hostname_checks_common_name = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def expect_refusal(host: str, port: int, cafile: Path | None, what: str) -> str:
    """Connect to 127.0.0.1:``port`` as ``host``; return why the handshake was refused.

    Raises:
        VerifyError: the handshake succeeded although it must not.
    """
    ctx = _strict_client(cafile)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=_TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname=host),
        ):
            pass
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message)
    raise VerifyError(
        f"negative control failed: the handshake {what} succeeded",
        hint="the certificate is accepted where it must not be; report this as a bug",
    )
