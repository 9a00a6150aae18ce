"""A misbehaving ACME directory server on 127.0.0.1 (HTTPS with a throwaway CA).

``BadAcme(cert, key, mode)`` serves every request according to ``mode``:

- ``garbage``: 200 with a body that is not JSON;
- ``not-a-directory``: 200 with JSON that is no ACME directory;
- ``server-error``: 500 with an HTML page;
- ``hang``: accepts, then answers nothing until the server stops;
- ``close``: accepts the TLS connection and closes it without a byte;
- ``reset``: closes the TCP connection before the TLS handshake.
"""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        mode = self.server.mode
        if mode == "hang":
            self.server.stopping.wait(60)
            return
        if mode == "close":
            self.close_connection = True
            self.connection.close()
            return
        status, ctype, body = {
            "garbage": (200, "application/json", b"\x00{{{ this is not json \xff"),
            "not-a-directory": (200, "application/json", b'{"hello": ["world"]}'),
            "server-error": (500, "text/html", b"<html><body>500 oops</body></html>"),
        }[mode]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Replay-Nonce", "bm9uY2U")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_HEAD = _answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    mode = "garbage"
    stopping: threading.Event

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        if self.mode == "reset":
            linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")  # RST on close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            sock.close()
            raise OSError("reset on purpose")
        return self.context.wrap_socket(sock, server_side=True), addr

    context: ssl.SSLContext


class BadAcme:
    """A running bad server; ``url`` is its directory URL. Stop it with :meth:`stop`."""

    def __init__(self, cert: Path, key: Path, mode: str) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.mode = mode
        self.server.stopping = threading.Event()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.context = ctx
        self.port = self.server.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}/dir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
