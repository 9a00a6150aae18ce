"""Where a client's CA comes from: a file, or Harbor's getcert endpoint, always pinned.

A CA fetched over the network is never trusted on first use: every certificate in it must be
named by a SHA-256 fingerprint, and the server must then present a chain that verifies to it
for the host (:func:`tlsprov.pki.verify.verify_endpoint`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from tlsprov.errors import InputError, VerifyError
from tlsprov.pki.x509 import fingerprint, load_certs, split_pem

__all__ = [
    "GETCERT_PATH",
    "check_pins",
    "fetch_harbor_ca",
    "load_ca_file",
    "normalize_fingerprint",
]

GETCERT_PATH = "/api/v2.0/systeminfo/getcert"
_MAX_BODY = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")


def normalize_fingerprint(text: str) -> str:
    """``AB:CD:..`` (upper case, colons) from colon hex with or without ``sha256:``, any case.

    Raises:
        InputError: not a SHA-256 fingerprint.
    """
    raw = text.strip().lower()
    raw = raw.removeprefix("sha256:").strip()
    digits = raw.replace(":", "")
    if not _HEX.match(digits):
        raise InputError(
            f"'{text}' is not a SHA-256 fingerprint",
            hint="pass the 64 hex digits 'tlsprov ca init' or 'tlsprov inspect' print "
            "(colons and a sha256: prefix are optional)",
        )
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def _ca_bundle(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """The CA certificates of ``data`` as one PEM bundle and their fingerprints.

    Raises:
        InputError: no certificate, a malformed one, or one that is not a CA.
    """
    from cryptography import x509

    certs = load_certs(data, source=source)
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise InputError(
                f"{source} holds {cert.subject.rfc4514_string()}, which is not a CA certificate",
                hint="clients trust the CA (ca.crt), never a server certificate",
            )
    return b"".join(split_pem(data)), [fingerprint(c) for c in certs]


def load_ca_file(path: Path) -> tuple[bytes, list[str]]:
    """Read a CA file (one or more CA certificates); return the PEM and the fingerprints.

    Raises:
        InputError: unreadable, malformed, or not a CA.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the CA file {path}: {exc.strerror or exc}", hint="check --ca"
        ) from exc
    return _ca_bundle(data, str(path))


def check_pins(found: Sequence[str], pins: Sequence[str], source: str) -> None:
    """Every certificate in ``found`` must be pinned.

    Raises:
        InputError: a certificate no fingerprint pins (trust on first use is refused).
    """
    wanted = {normalize_fingerprint(p) for p in pins}
    for fp in found:
        if fp not in wanted:
            raise InputError(
                f"{source} holds a CA with SHA-256 {fp}, which no --fingerprint names; "
                "nothing was trusted",
                hint="compare with the fingerprint 'tlsprov status' prints on the Harbor host "
                "(pass one --fingerprint per CA during a rollover)",
            )


def _http_get(host: str, port: int, connect: tuple[str, int], path: str, timeout: float) -> bytes:
    """GET ``path`` over TLS without verifying the server (the answer is pinned after)."""
    import http.client
    import socket
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # what comes back is checked against the pins
    name = f"[{host}]" if ":" in host else host
    header = name if port == 443 else f"{name}:{port}"
    where = f"{connect[0]}:{connect[1]}"
    try:
        with (
            socket.create_connection(connect, timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {header}\r\nUser-Agent: tlsprov-trust\r\n"
                "Connection: close\r\n\r\n".encode("ascii")
            )
            response = http.client.HTTPResponse(tls)
            response.begin()
            body = response.read(_MAX_BODY + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise VerifyError(
            f"cannot fetch https://{header}{path} from {where}: {exc or type(exc).__name__}",
            hint="check the host, --connect and that Harbor is up",
        ) from exc
    if response.status != 200:
        raise VerifyError(
            f"https://{header}{path} answered {response.status} {response.reason}",
            hint="Harbor serves its CA there when <data_volume>/ca_download/ca.crt exists "
            "(the harbor target writes it); otherwise pass --ca FILE",
        )
    if len(body) > _MAX_BODY:
        raise VerifyError(f"https://{header}{path} answered more than {_MAX_BODY} bytes")
    return body


def fetch_harbor_ca(
    host: str,
    port: int,
    pins: Sequence[str],
    *,
    connect: tuple[str, int] | None = None,
    timeout: float = 10.0,
) -> tuple[bytes, list[str], list[str]]:
    """Fetch the CA Harbor publishes, check the pins, then verify the server's chain with it.

    Returns the CA PEM, its fingerprints and warnings.

    Raises:
        InputError: no pin given, or the fetched CA is not pinned.
        VerifyError: the endpoint cannot be reached or its chain does not verify for ``host``.
    """
    from tlsprov.pki.verify import verify_endpoint

    if not pins:
        raise InputError(
            "--from-harbor needs --fingerprint: a CA fetched over the network is never "
            "trusted on first use",
            hint="pass the SHA-256 fingerprint 'tlsprov status' prints on the Harbor host",
        )
    address = connect or (host, port)
    url = f"https://{host}:{port}{GETCERT_PATH}"
    body = _http_get(host, port, address, GETCERT_PATH, timeout)
    try:
        ca_pem, found = _ca_bundle(body, url)
    except InputError as exc:
        raise VerifyError(exc.message, hint=exc.hint) from exc
    check_pins(found, pins, url)
    report = verify_endpoint(
        host, port, ca_pem=ca_pem, connect=address, timeout=timeout, probe_v2=False, min_days=0
    )
    needed = {"connect", "handshake", "names", "server-auth"}
    bad = [c for c in report.checks if c.name in needed and not c.ok]
    if bad or not {c.name for c in report.checks} >= needed:
        detail = "; ".join(c.detail for c in bad) or "the TLS handshake did not complete"
        raise VerifyError(
            f"the CA from {url} matches the fingerprint, but the server's chain does not "
            f"verify for {host}: {detail}; nothing was trusted",
            hint="the registry may be intercepted, or serve a certificate from another CA",
        )
    warnings = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    return ca_pem, found, warnings
