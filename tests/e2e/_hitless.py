"""Harbor's proxy under load: the harness of the hitless-renewal test and benchmark.

:class:`ProxyContainer` sets up the stand-in for Harbor's ``proxy`` container (``fakes/_proxy.py``:
real nginx in a private mount namespace, ``<root>/<data_volume>/secret/cert`` bind-mounted as a
folder) and starts it through the recording ``docker compose up -d``. :class:`Load` runs client
threads that each open a fresh TLS connection per request to ``/v2/``, trusting only the CA and
checking the host name, and records every outcome with the serial served. Stdlib only, so the
benchmark can use it from its own virtualenv.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"


def _load_proxy() -> Any:
    """``fakes/_proxy.py``, the stand-in container the recording docker drives."""
    spec = importlib.util.spec_from_file_location("tlsprov_e2e_proxy", FAKES / "_proxy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_alive = _load_proxy().alive


class ProxyContainer:
    """The proxy stand-in: its state file, start (via the fake compose) and stop by PID."""

    def __init__(self, folder: Path, *, source: Path, port: int, conf_text: str) -> None:
        self.folder = folder
        self.port = port
        self.mount = folder / "etc-cert"  # what the container calls /etc/cert
        self.mount.mkdir(parents=True)
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (folder / "temp" / sub).mkdir(parents=True)
        conf = folder / "nginx.conf"
        conf.write_text(conf_text, encoding="utf-8")
        self.state = folder / "proxy.json"
        nginx = ["nginx", "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"),
                 "-g", "daemon off;"]  # fmt: skip
        self.state.write_text(
            json.dumps({"source": str(source), "mount": str(self.mount), "port": port,
                        "nginx": nginx, "log": str(folder / "out.log"), "pid": None}),
            encoding="utf-8",
        )  # fmt: skip

    def tls_include(self) -> Path:
        """Server-context directives naming the certificate as the container sees it."""
        path = self.folder / "tls.conf"
        path.write_text(
            f"ssl_certificate {self.mount}/server.crt;\n"
            f"ssl_certificate_key {self.mount}/server.key;\nssl_protocols TLSv1.2 TLSv1.3;\n",
            encoding="utf-8",
        )
        return path

    @property
    def env(self) -> dict[str, str]:
        """What the recording docker needs to drive this proxy."""
        return {"TLSPROV_TEST_PROXY": str(self.state)}

    def pid(self) -> int | None:
        """The running nginx master's pid, if any."""
        value = json.loads(self.state.read_text(encoding="utf-8")).get("pid")
        return int(value) if value else None

    def start(self, env: dict[str, str], cwd: Path) -> None:
        """``docker compose up -d`` through the recording docker."""
        subprocess.run([str(FAKES / "docker"), "compose", "up", "-d"], check=True, timeout=60,
                       env={**env, **self.env}, cwd=cwd)  # fmt: skip

    def stop(self) -> None:
        """Stop the nginx master by its PID (TERM, then KILL), whoever started it."""
        pid = self.pid()
        if not _alive(pid):
            return
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)

    def error_log(self) -> str:
        """The nginx error log and the container's output."""
        parts = []
        for name in ("error.log", "out.log"):
            path = self.folder / name
            if path.exists():
                parts.append(path.read_text(encoding="utf-8", errors="replace")[-3000:])
        return "\n".join(parts)


@dataclass
class Outcome:
    """One request: when it started and ended, and the serial served (None on failure)."""

    start: float
    end: float
    serial: int | None
    error: str = ""


@dataclass
class Load:
    """``clients`` threads, each a loop of fresh TLS connections with ``GET /v2/``."""

    port: int
    host: str
    ca_file: Path
    clients: int = 20
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _one(self, ctx: ssl.SSLContext) -> Outcome:
        from cryptography import x509

        start = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname=self.host) as tls:  # fmt: skip
                der = tls.getpeercert(binary_form=True)
                request = (f"GET /v2/ HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                           "Connection: close\r\n\r\n")  # fmt: skip
                tls.sendall(request.encode())
                head = b""
                while b"\r\n" not in head:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            status = head.split(b" ", 2)[1:2]
            if status not in ([b"200"], [b"401"]):
                raise OSError(f"unexpected answer {head[:40]!r}")
            assert der is not None
            serial = x509.load_der_x509_certificate(der).serial_number
            return Outcome(start, time.monotonic(), serial)
        except (OSError, ssl.SSLError) as exc:
            return Outcome(start, time.monotonic(), None, f"{type(exc).__name__}: {exc}")

    def _loop(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        mine: list[Outcome] = []
        while not self._stop.is_set():
            outcome = self._one(ctx)
            mine.append(outcome)
            if outcome.serial is None:
                time.sleep(0.005)  # a refused connection returns at once: do not spin
        with self._lock:
            self.outcomes += mine

    def start(self) -> None:
        """Start the client threads."""
        for _ in range(self.clients):
            thread = threading.Thread(target=self._loop, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop the clients and wait for them (bounded)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def failed(self) -> list[Outcome]:
        """The failed requests."""
        return [o for o in self.outcomes if o.serial is None]

    def longest_gap(self) -> float:
        """The longest time between two successful requests' ends."""
        ends = sorted(o.end for o in self.outcomes if o.serial is not None)
        return max((b - a for a, b in itertools.pairwise(ends)), default=0.0)
