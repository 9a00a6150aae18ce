"""The demo's stand-in for Harbor's proxy: serves what ``prepare`` rendered, on 127.0.0.1.

nginx when it is installed (in its own prefix, never the system's), Python's TLS server
otherwise. ``GET /v2/`` answers like Harbor: 401 with a Bearer challenge.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tlsprov.errors import VerifyError
from tlsprov.fsops import ensure_dir

__all__ = ["serve"]

_TIMEOUT = 15.0


def _challenge(host: str, port: int) -> str:
    return f'Bearer realm="https://{host}:{port}/service/token",service="harbor-registry"'


def _nginx_conf(prefix: Path, port: int, tls_include: Path, host: str) -> str:
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"  {kind}_temp_path {prefix}/temp;\n" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    return (
        f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n{user}"
        "events { worker_connections 64; }\n"
        f"http {{\n{temps}  access_log {prefix}/access.log;\n"
        f"  server {{\n    listen 127.0.0.1:{port} ssl;\n    include {tls_include};\n"
        "    location /v2/ {\n"
        f"      add_header Www-Authenticate '{_challenge(host, port)}' always;\n"
        "      add_header Docker-Distribution-Api-Version registry/2.0 always;\n"
        '      return 401 \'{"errors":[{"code":"UNAUTHORIZED"}]}\';\n'
        "    }\n  }\n}\n"
    )


def _wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    from tlsprov.testing import wait_for_port

    try:
        wait_for_port("127.0.0.1", port, timeout=_TIMEOUT, proc=proc, log=log)
    except Exception as exc:
        raise VerifyError(f"the demo proxy did not start on 127.0.0.1:{port} ({exc})") from exc


@contextlib.contextmanager
def _nginx(nginx: str, workdir: Path, port: int, tls_include: Path, host: str) -> Iterator[str]:
    prefix = workdir / "nginx"
    ensure_dir(prefix / "temp")
    conf = prefix / "nginx.conf"
    conf.write_text(_nginx_conf(prefix, port, tls_include, host), encoding="utf-8")
    base = [nginx, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=_TIMEOUT)
    if check.returncode != 0:
        raise VerifyError(f"nginx rejected the rendered configuration: {check.stderr.strip()}")
    log = prefix / "out.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*base, "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_for_port(port, proc, prefix / "error.log")
        yield "nginx"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class _Harborish(http.server.BaseHTTPRequestHandler):
    challenge = ""

    def do_GET(self) -> None:
        body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
        self.send_response(401 if self.path.startswith("/v2/") else 404)
        self.send_header("Www-Authenticate", self.challenge)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # the negative controls fail their handshakes on purpose


@contextlib.contextmanager
def _python(port: int, cert: Path, key: Path, host: str) -> Iterator[str]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    handler = type("Handler", (_Harborish,), {"challenge": _challenge(host, port)})
    server = _QuietServer(("127.0.0.1", port), handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield "python"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(_TIMEOUT)


def serve(
    workdir: Path, port: int, tls_include: Path, secret: Path, host: str, *, use_nginx: bool
) -> contextlib.AbstractContextManager[str]:
    """Serve the prepared certificate on 127.0.0.1:``port``; yields which server runs."""
    nginx = (
        shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin") if use_nginx else None
    )
    if nginx:
        return _nginx(nginx, workdir, port, tls_include, host)
    return _python(port, secret / "server.crt", secret / "server.key", host)
