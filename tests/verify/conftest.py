"""A real TLS server on 127.0.0.1 answering GET /v2/, and the ec256 test PKI."""

from __future__ import annotations

import importlib.util
import ssl
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load_pki() -> ModuleType:
    name = "tlsprov_test_pki"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parents[1] / "installer" / "_pki.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pki = _load_pki()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        status = self.server.status if self.path == "/v2/" else 404
        body = b"{}" if status == 200 else b'{"errors":[]}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if status == 401:
            self.send_header(
                "WWW-Authenticate",
                'Bearer realm="https://harbor.test/service/token",service="harbor-registry"',
            )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ctx: ssl.SSLContext, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ctx = ctx
        self.status = status
        self.requests: list[tuple[str, str]] = []

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that rejects our certificate aborts the handshake: expected here


@pytest.fixture
def ca() -> Any:
    return pki.TestCA()


@pytest.fixture
def kit() -> Any:
    return pki


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., _Server]]:
    """``serve(bundle, status=200)`` starts a TLS server with the bundle; returns the server
    (``server.server_address[1]`` is its port)."""
    servers: list[_Server] = []

    def start(bundle: Any, status: int = 200) -> _Server:
        folder = tmp_path / f"srv{len(servers)}"
        folder.mkdir()
        (folder / "cert.pem").write_bytes(bundle.fullchain_pem)
        (folder / "key.pem").write_bytes(bundle.private_key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(folder / "cert.pem", folder / "key.pem")
        server = _Server(ctx, status)
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
