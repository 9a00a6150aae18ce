"""Private container engines on loopback: containerd, dockerd and podman, behind a CONNECT proxy.

Used by ``tlsprov demo --engines`` and by the engine end-to-end tests. Every daemon has its own
state under one work folder, listens on a unix socket there, and is stopped by its PID:

- containerd with its own root, state and sockets (the CRI plugin off);
- dockerd on that containerd, in a private mount namespace where the sandbox's ``etc/docker``
  is bind-mounted over ``/etc/docker`` (so ``certs.d`` is the sandbox's and ``key.json`` lands
  there) and a tmpfs covers ``/run``;
- podman with its own root, runroot, tmpdir, containers.conf and auth file, run the same way.

dockerd treats every registry that *resolves* into 127.0.0.0/8 as insecure and skips certs.d,
so the registry names (``harbor.test``...) must not resolve at all: the engines reach them
through :class:`ConnectProxy`, which maps those names (and only those) to 127.0.0.1.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["ConnectProxy", "Engines", "missing_programs", "start_engines"]

START_TIMEOUT = 20.0
RUN_TIMEOUT = 60.0
DOCKER_CLI = "/usr/bin/docker"  # the client of Debian's docker.io, not /usr/local/bin's
PROGRAMS = {"containerd": ("containerd", "ctr"), "docker": ("dockerd", DOCKER_CLI),
            "podman": ("podman",)}  # fmt: skip
_NAMESPACE_SCRIPT = (
    'mount -t tmpfs tmpfs /run || exit 1; while [ "$1" != -- ]; do '
    'mount --bind "$1" "$2" || exit 1; shift 2; done; shift; exec "$@"'
)


def _in_namespace(binds: list[tuple[Path, str]], argv: list[str]) -> list[str]:
    """``argv`` in a private mount namespace: a tmpfs on /run, ``src`` bound over ``dst``."""
    pairs = [str(p) for bind in binds for p in (bind[0], bind[1])]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _NAMESPACE_SCRIPT,
            "sh", *pairs, "--", *argv]  # fmt: skip


def missing_programs(engines: Iterable[str]) -> list[str]:
    """The programs ``engines`` need that are not on PATH (or not installed)."""
    path = f"{os.environ.get('PATH', os.defpath)}{os.pathsep}/usr/sbin:/sbin"
    return [
        p
        for name in engines
        for p in ("unshare", *PROGRAMS[name])
        if not (Path(p).is_file() if p.startswith("/") else shutil.which(p, path=path))
    ]


# --------------------------------------------------------------------------- the proxy


class _Tunnel(socketserver.StreamRequestHandler):
    timeout = 30.0
    server: _ProxyServer

    def handle(self) -> None:
        line = self.rfile.readline(4096).decode("latin-1").split()
        while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
            pass
        if len(line) < 2 or line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 CONNECT only\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port_text = line[1].rpartition(":")
        allowed = host.lower() in self.server.names and port_text.isdigit()
        if not allowed:
            self.server.refused.append(line[1])
            self.wfile.write(b"HTTP/1.1 403 not a test name\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", int(port_text)), timeout=10)
        except OSError:
            self.wfile.write(b"HTTP/1.1 502 no listener\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.tunnels.append(line[1])
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        with upstream:
            _pump(self.connection, upstream, self.timeout)


def _pump(a: socket.socket, b: socket.socket, idle: float) -> None:
    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        while True:
            events = sel.select(idle)
            if not events:
                return
            for key, _mask in events:
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = src.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    names: frozenset[str]
    tunnels: list[str]
    refused: list[str]


class ConnectProxy:
    """A CONNECT-only HTTP proxy on 127.0.0.1 that tunnels ``NAME:PORT`` to 127.0.0.1:PORT.

    Only the given names are tunnelled; every other destination gets 403, so nothing leaves
    the machine. ``tunnels`` and ``refused`` record the destinations asked for.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._server = _ProxyServer(("127.0.0.1", 0), _Tunnel)
        self._server.names = frozenset(n.lower() for n in names)
        self._server.tunnels = []
        self._server.refused = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def tunnels(self) -> list[str]:
        """Every ``NAME:PORT`` tunnelled so far."""
        return self._server.tunnels

    @property
    def refused(self) -> list[str]:
        """Every destination refused so far."""
        return self._server.refused

    def env(self) -> dict[str, str]:
        """Proxy variables for a client or daemon (nothing bypasses the proxy)."""
        return {"HTTPS_PROXY": self.url, "HTTP_PROXY": self.url, "NO_PROXY": "",
                "https_proxy": self.url, "http_proxy": self.url, "no_proxy": ""}  # fmt: skip

    def close(self) -> None:
        """Stop listening (open tunnels end with their connections)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


# --------------------------------------------------------------------------- daemons


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process we started, by its PID: TERM, wait, then KILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _answers(path: Path, ping: bool) -> bool:
    """The unix socket accepts a connection (and, with ``ping``, answers ``GET /_ping``)."""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
            if not ping:
                return True
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return probe.recv(64).split(b" ")[1:2] == [b"200"]
        except OSError:
            return False


def _wait_socket(
    name: str, path: Path, proc: subprocess.Popen[bytes], log: Path, *, ping: bool = False
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}):\n{_log_tail(log)}")
        if path.exists() and _answers(path, ping):
            return
        time.sleep(0.02)
    raise RuntimeError(f"{path} did not appear within {START_TIMEOUT:.0f} s:\n{_log_tail(log)}")


def _containerd_config(w: Path, sock: Path) -> str:
    return (
        f'version = 2\nroot = "{w}/root"\nstate = "{w}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n'
        f'[ttrpc]\n  address = "{sock}.ttrpc"\n'
        f'[plugins."io.containerd.internal.v1.opt"]\n  path = "{w}/opt"\n'
    )


class Engines:
    """The running daemons and the clients that talk to them."""

    def __init__(
        self,
        work: Path,
        proxy: ConnectProxy,
        etc_docker: Path,
        docker_env: dict[str, str] | None = None,
    ) -> None:
        self.work = work
        self.docker_env = dict(docker_env or {})
        self.proxy = proxy
        self.etc_docker = etc_docker
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # Unix sockets (108 bytes) and podman's runroot (50) want short paths: a private
        # folder in the temp dir, removed by stop().
        self.short = Path(tempfile.mkdtemp(prefix="tlsprov-"))
        self.containerd_sock = self.short / "containerd.sock"
        self.docker_sock = self.short / "docker.sock"
        self.podman_dir = work / "podman"

    def _spawn(
        self, name: str, argv: list[str], sock: Path, env: dict[str, str], *, ping: bool = False
    ) -> None:
        log = self.work / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True,
            )  # fmt: skip
        self.procs[name] = proc
        _wait_socket(name, sock, proc, log, ping=ping)

    def start_containerd(self) -> None:
        """containerd with everything under ``work/containerd``."""
        w = self.work / "containerd"
        w.mkdir(parents=True, exist_ok=True)
        (w / "config.toml").write_text(
            _containerd_config(w, self.containerd_sock), encoding="utf-8"
        )
        argv = ["containerd", "--config", str(w / "config.toml")]
        self._spawn("containerd", argv, self.containerd_sock, dict(os.environ))

    def start_dockerd(self) -> None:
        """dockerd on our containerd, reading ``etc_docker/certs.d`` as /etc/docker/certs.d."""
        w = self.work / "docker"
        w.mkdir(parents=True, exist_ok=True)
        (w / "daemon.json").write_text("{}\n", encoding="utf-8")
        (self.etc_docker / "certs.d").mkdir(parents=True, exist_ok=True)
        argv = [
            "dockerd", "--config-file", str(w / "daemon.json"),
            "--containerd", str(self.containerd_sock), "--iptables=false", "--ip-masq=false",
            "--ip-forward=false", "--bridge=none", "--storage-driver=overlay2",
            "--data-root", str(w / "data"), "--exec-root", str(self.short / "exec"),
            "--pidfile", str(w / "docker.pid"), "-H", f"unix://{self.docker_sock}",
        ]  # fmt: skip
        argv = _in_namespace([(self.etc_docker, "/etc/docker")], argv)
        env = {**os.environ, **self.proxy.env(), **self.docker_env}
        self._spawn("dockerd", argv, self.docker_sock, env, ping=True)

    def restart_dockerd(self) -> None:
        """Stop dockerd by its PID and start it again (what ``systemctl restart docker`` does)."""
        proc = self.procs.pop("dockerd", None)
        if proc is not None:
            _stop(proc)
        self.start_dockerd()

    def setup_podman(self) -> None:
        """podman's own root, runroot, tmpdir and containers.conf (no daemon to start)."""
        w = self.podman_dir
        for sub in ("root", "tmp", "networks", "var-lib"):
            (w / sub).mkdir(parents=True, exist_ok=True)
        (w / "containers.conf").write_text(
            '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
            f'events_logfile_path = "{w}/events.log"\n'
            f'[network]\nnetwork_config_dir = "{w}/networks"\n',
            encoding="utf-8",
        )

    def _run(self, argv: list[str], env: dict[str, str], stdin: str | None, timeout: float) -> Any:
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, timeout=timeout
        )

    def docker(self, *args: str, stdin: str | None = None, timeout: float = RUN_TIMEOUT) -> Any:
        """Run the docker client against our dockerd (its own DOCKER_CONFIG)."""
        env = {**os.environ, "DOCKER_HOST": f"unix://{self.docker_sock}",
               "DOCKER_CONFIG": str(self.work / "docker" / "client")}  # fmt: skip
        return self._run([DOCKER_CLI, *args], env, stdin, timeout)

    def ctr(self, *args: str, timeout: float = RUN_TIMEOUT) -> Any:
        """Run ``ctr`` against our containerd, through the proxy."""
        argv = ["ctr", "--address", str(self.containerd_sock), *args]
        return self._run(argv, {**os.environ, **self.proxy.env()}, None, timeout)

    def podman(self, *args: str, stdin: str | None = None, timeout: float = RUN_TIMEOUT) -> Any:
        """Run podman with its own storage and config, through the proxy, /run on a tmpfs."""
        w = self.podman_dir
        env = {**os.environ, **self.proxy.env(), "CONTAINERS_CONF": str(w / "containers.conf"),
               "REGISTRY_AUTH_FILE": str(w / "auth.json")}  # fmt: skip
        argv = ["podman", "--root", str(w / "root"), "--runroot", str(self.short / "podman"),
                "--tmpdir", str(w / "tmp"), *args]  # fmt: skip
        # containers/image keeps a blob cache in /var/lib/containers/cache: keep it here.
        argv = _in_namespace([(w / "var-lib", "/var/lib")], argv)
        return self._run(argv, env, stdin, timeout)

    def stop(self) -> None:
        """Stop every daemon by its PID, dockerd before containerd."""
        for name in ("dockerd", "containerd"):
            proc = self.procs.pop(name, None)
            if proc is not None:
                _stop(proc)
        shutil.rmtree(self.short, ignore_errors=True)


def start_engines(
    work: Path,
    proxy: ConnectProxy,
    etc_docker: Path,
    engines: Iterable[str],
    *,
    docker_env: dict[str, str] | None = None,
) -> Engines:
    """Start ``engines`` (``containerd``, ``docker``, ``podman``); stop all on any failure.

    ``docker_env`` adds variables for dockerd only (``SSL_CERT_FILE`` for a sandboxed
    system bundle).
    """
    wanted = set(engines)
    running = Engines(work, proxy, etc_docker, docker_env)
    try:
        if wanted & {"containerd", "docker"}:
            running.start_containerd()
        if "docker" in wanted:
            running.start_dockerd()
        if "podman" in wanted:
            running.setup_podman()
    except BaseException:
        running.stop()
        raise
    return running
