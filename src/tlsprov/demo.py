"""The built-in demo: a private CA, a Harbor-style certificate, and a real TLS check, in a sandbox.

Each step is a function so the demo can grow (later: a whole sandbox Harbor) without turning into
one long procedure:

1. :func:`prepare_sandbox` makes the folders.
2. :func:`issue_certificate` creates (or reuses) the CA and issues the server certificate.
3. :func:`write_files` writes ``H.key``/``H.crt``/``H.cert``/``ca.crt`` the way Harbor wants them.
4. :func:`serve_and_check` serves the certificate on 127.0.0.1 and connects to it trusting only
   ``ca.crt``, with strict X.509 checks and the host name checked against the SAN, then asks
   ``GET /v2/`` like a registry client. Two negative controls show what the trap looks like: the
   system trust store alone, and a wrong host name, must both fail.

Nothing outside the sandbox is touched; every listener is on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlsprov.bundleio import write_bundle
from tlsprov.errors import VerifyError
from tlsprov.fsops import ensure_dir
from tlsprov.models import IssuedBundle
from tlsprov.registry import get_provider
from tlsprov.x509util import describe_key, fingerprint, load_cert, make_request, san_identities

__all__ = [
    "DEMO_HOST",
    "Sandbox",
    "issue_certificate",
    "prepare_sandbox",
    "run_demo",
    "serve_and_check",
    "write_files",
]

DEMO_HOST = "harbor.test"
DEMO_ALT_NAMES = ("127.0.0.1",)
_TIMEOUT = 10.0

Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Sandbox:
    """The demo's folders: ``root``, the CA in ``ca_dir``, the server files in ``cert_dir``."""

    root: Path
    ca_dir: Path
    cert_dir: Path


def prepare_sandbox(root: Path) -> Sandbox:
    """Create the sandbox folder (the CA and certificate folders are made private later)."""
    root = root.absolute()
    ensure_dir(root)
    return Sandbox(root=root, ca_dir=root / "ca", cert_dir=root / "certs")


def issue_certificate(
    sandbox: Sandbox, names: tuple[str, ...], key_type: str | None
) -> tuple[IssuedBundle, bool]:
    """Issue a server certificate for ``names`` from the sandbox CA; return it and whether the
    CA already existed (it is created on the first run and reused afterwards)."""
    reused = (sandbox.ca_dir / "ca.crt").exists()
    options: dict[str, Any] = {"ca_dir": str(sandbox.ca_dir)}
    if key_type is not None:
        options["key_type"] = key_type
    provider = get_provider("selfsigned", **options)
    bundle = provider.issue(make_request(names))
    return bundle, reused


def write_files(sandbox: Sandbox, host: str, bundle: IssuedBundle) -> dict[str, Path]:
    """Write the bundle into ``cert_dir``; return the paths keyed key/crt/cert/ca."""
    return write_bundle(sandbox.cert_dir, host, bundle)


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


class _RegistryHandler(http.server.BaseHTTPRequestHandler):
    """Answers ``GET /v2/`` like an open registry: ``200 {}``."""

    timeout = _TIMEOUT
    server_version = "tlsprov-demo"

    def do_GET(self) -> None:
        if self.path == "/v2/":
            body, status = b"{}", 200
        else:
            body, status = b'{"errors":[{"code":"NOT_FOUND"}]}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _QuietServer(http.server.ThreadingHTTPServer):
    """Records failed requests (the negative controls) instead of printing tracebacks."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _RegistryHandler)
        self.failures: list[str] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        self.failures.append(f"{type(exc).__name__}: {exc}")


@contextmanager
def _tls_server(files: dict[str, Path]) -> Iterator[int]:
    """Serve ``files['crt']``/``files['key']`` on 127.0.0.1 (ephemeral port) in a thread."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files["crt"], files["key"])
    server = _QuietServer(("127.0.0.1", 0))
    # The handshake happens in each handler thread, so a failing client cannot block accept().
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(_TIMEOUT)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to ``host`` (SNI, hostname check, Host header) at a fixed loopback address."""

    def __init__(self, host: str, address: tuple[str, int], context: ssl.SSLContext) -> None:
        super().__init__(host, address[1], context=context, timeout=_TIMEOUT)
        self._address = address
        self._tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection(self._address, timeout=_TIMEOUT)
        self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)


def _strict_client(cafile: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.hostname_checks_common_name = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _expect_failure(host: str, port: int, ctx: ssl.SSLContext, what: str) -> str:
    conn = _PinnedHTTPSConnection(host, ("127.0.0.1", port), ctx)
    try:
        conn.connect()
    except ssl.SSLCertVerificationError as exc:
        return str(exc.verify_message)
    finally:
        conn.close()
    raise VerifyError(
        f"negative control failed: the handshake {what} succeeded",
        hint="the certificate is accepted where it must not be; report this as a bug",
    )


def serve_and_check(files: dict[str, Path], host: str) -> dict[str, Any]:
    """Serve the bundle on 127.0.0.1 and check it like a strict registry client would.

    Raises:
        VerifyError: the handshake trusting only ``ca.crt`` failed, ``GET /v2/`` did not answer
            200, or a negative control unexpectedly succeeded.
    """
    with _tls_server(files) as port:
        conn = _PinnedHTTPSConnection(host, ("127.0.0.1", port), _strict_client(files["ca"]))
        try:
            conn.connect()
            tls = conn.sock
            if not isinstance(tls, ssl.SSLSocket):
                raise ssl.SSLError("the connection is not a TLS connection")
            version, cipher = tls.version(), tls.cipher()
            conn.request("GET", "/v2/")
            response = conn.getresponse()
            body = response.read()
        except (ssl.SSLError, OSError, http.client.HTTPException) as exc:
            raise VerifyError(
                f"TLS check of {host} on 127.0.0.1:{port} failed: {exc}",
                hint=f"inspect the files in {files['crt'].parent}",
            ) from exc
        finally:
            conn.close()
        if response.status != 200:
            raise VerifyError(f"GET /v2/ answered {response.status}, expected 200")
        untrusted = _expect_failure(host, port, _strict_client(None), "with system trust only")
        wrong_host = _expect_failure(
            "wrong.test", port, _strict_client(files["ca"]), "as wrong.test"
        )
    return {
        "address": f"127.0.0.1:{port}",
        "server_name": host,
        "tls_version": version,
        "cipher": cipher[0] if cipher else None,
        "http": f"GET /v2/ -> {response.status} {body.decode(errors='replace')}",
        "without_ca": untrusted,
        "wrong_host": wrong_host,
    }


def run_demo(root: Path, *, key_type: str | None = None, log: Log | None = None) -> dict[str, Any]:
    """Run every step in the sandbox ``root`` and return a report (JSON-ready)."""
    say = log or (lambda _line: None)
    sandbox = prepare_sandbox(root)
    names = (DEMO_HOST, *DEMO_ALT_NAMES)
    say(f"issuing a certificate for {', '.join(names)} (CA in {sandbox.ca_dir})")
    bundle, reused = issue_certificate(sandbox, names, key_type)
    files = write_files(sandbox, DEMO_HOST, bundle)
    say(f"serving it on 127.0.0.1 and connecting as {DEMO_HOST}, trusting only ca.crt")
    check = serve_and_check(files, DEMO_HOST)
    return {
        "sandbox": str(sandbox.root),
        "ca": {"dir": str(sandbox.ca_dir), "reused": reused},
        "files": {k: str(v) for k, v in files.items()},
        "certificate": describe_certificate(bundle),
        "check": check,
    }
