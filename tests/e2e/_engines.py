"""The real container engines for the end-to-end tests, started once per session.

conftest.py loads this file as ``tlsprov_e2e_engines``. :class:`EngineWorld` holds:

- docker-registry with basic auth (htpasswd, bcrypt) behind one private nginx with three TLS
  ports: ``plain``, ``mtls`` (``ssl_verify_client on``) and ``cn`` (a CN-only certificate);
- the CONNECT proxy mapping ``harbor.test`` and ``aaa.test`` to 127.0.0.1 (dockerd treats
  names that *resolve* to loopback as insecure registries and ignores certs.d);
- containerd, dockerd (``/etc/docker`` is the sandbox root's, in a private mount namespace) and
  podman (own root, runroot, config), from :mod:`tlsprov.demo._engines`;
- one sandbox host root (``S.Sandbox``) that every engine test installs into with
  ``tlsprov install --root``; :meth:`EngineWorld.reset` empties its certs.d folders and state
  before each test, so an engine only ever sees the folders that test's tlsprov run wrote.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tlsprov_e2e_support as S

from tlsprov.demo._engines import ConnectProxy, Engines, start_engines
from tlsprov.testing import wait_for_port

ENGINES = ("docker", "containerd", "podman")
HOSTS = ("harbor.test", "aaa.test")  # aaa.test sorts before "client": the pairing trap
USER, PASSWORD = "alice", "s3cret-e2e"
HERE = Path(__file__).resolve().parent
SANDBOX_TOOLS = HERE / "fakes_engines"
CTR_IMAGE = "local.test/tlsprov-e2e/img"  # the OCI archive's name in containerd
# What the engines would create outside the sandbox if they were not confined.
OUTSIDE = ("/etc/docker/key.json", "/etc/docker/certs.d", "/run/docker", "/run/containerd",
           "/run/containers", "/etc/containers/networks", "/var/lib/docker",
           "/var/lib/containerd", "/opt/containerd", "/var/lib/containers/storage")  # fmt: skip


def outside_state() -> dict[str, bool]:
    """Which of :data:`OUTSIDE` exist right now."""
    return {path: os.path.lexists(path) for path in OUTSIDE}


def nginx_conf(prefix: Path, registry: int, servers: list[tuple[int, Path, Path | None]]) -> str:
    """One nginx, one ``server`` per ``(port, tls include, client CA or None)``, to /v2/."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"  {kind}_temp_path {prefix}/temp/{kind};\n" for kind in
                    ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))  # fmt: skip
    blocks = ""
    for port, tls, client_ca in servers:
        mtls = f"    ssl_client_certificate {client_ca};\n    ssl_verify_client on;\n" * bool(
            client_ca
        )
        blocks += (
            f"  server {{\n    listen 127.0.0.1:{port} ssl;\n    include {tls};\n{mtls}"
            "    location /v2/ {\n      proxy_pass http://core/v2/;\n"
            "      proxy_set_header Host $http_host;\n"
            "      proxy_set_header X-Forwarded-Proto $scheme;\n"
            "      proxy_buffering off;\n      proxy_request_buffering off;\n    }\n  }\n"
        )
    return (
        f"worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n"
        f"{user}events {{ worker_connections 256; }}\nhttp {{\n{temps}"
        '  log_format e2e \'$remote_addr "$request" $status verify=$ssl_client_verify '
        'dn="$ssl_client_s_dn" sni=$ssl_server_name\';\n'
        f"  access_log {prefix}/access.log e2e;\n  proxy_http_version 1.1;\n"
        "  client_max_body_size 0;\n  chunked_transfer_encoding on;\n"
        f"  upstream core {{ server 127.0.0.1:{registry}; }}\n{blocks}}}\n"
    )


def start_nginx(
    prefix: Path, registry: int, servers: list[tuple[int, Path, Path | None]]
) -> subprocess.Popen[bytes]:
    """Validate and start a private nginx (``daemon off``); waits for every port."""
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / kind).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, registry, servers), encoding="utf-8")
    base = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, f"nginx -t failed:\n{check.stdout}{check.stderr}"
    proc = S.start_daemon([*base, "-g", "daemon off;"], prefix / "out.log", servers[0][0])
    try:
        for port, _tls, _ca in servers[1:]:
            wait_for_port("127.0.0.1", port, timeout=15, proc=proc, log=prefix / "error.log")
    except BaseException:
        S.stop_process(proc)
        raise
    return proc


def cn_only_bundle(ca_dir: Path, folder: Path, host: str) -> tuple[Path, Path]:
    """A leaf for ``host`` with the name only in the CN (no SAN), signed by the test CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    ca_key: Any = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert, key_path = folder / "cn-only.crt", folder / "cn-only.key"
    cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert, key_path


def image_tars(folder: Path) -> tuple[Path, Path]:
    """A rootfs tar of one small file (docker/podman import) and an OCI archive (ctr)."""
    folder.mkdir(parents=True, exist_ok=True)
    rootfs = folder / "rootfs.tar"
    oci = S.build_oci_image(folder / "oci")
    subprocess.run(["tar", "-C", str(oci), "-cf", str(folder / "oci.tar"), "."],
                   check=True, timeout=30)  # fmt: skip
    (folder / "hello").mkdir()
    (folder / "hello" / "hello.txt").write_text("hello from tlsprov's engine tests\n")
    subprocess.run(["tar", "-C", str(folder / "hello"), "-cf", str(rootfs), "hello.txt"],
                   check=True, timeout=30)  # fmt: skip
    return rootfs, folder / "oci.tar"


@dataclass
class Step:
    """One client command and its result."""

    argv: list[str]
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv[-4:])} -> exit {self.returncode}\n{self.output[-1500:]}"


def _step(result: Any) -> Step:
    return Step(list(map(str, result.args)), result.returncode, result.stdout + result.stderr)


class EngineWorld:
    """Everything the engine tests share; see the module docstring."""

    def __init__(self, base: Path, issued: Any) -> None:
        self.base = base
        self.issued = issued
        self.box = S.Sandbox(base / "host", "debian", "harbor.yml.tmpl", False)
        self.box.env["PATH"] = f"{SANDBOX_TOOLS}{os.pathsep}{self.box.env['PATH']}"
        self.server = issued.issue(
            "harbor.test", base / "server", "--alt-name", "aaa.test", "--alt-name", "127.0.0.1"
        )
        self.client = issued.issue("client1", base / "client", "--client")
        self.cn_cert, self.cn_key = cn_only_bundle(issued.ca_dir, base / "cn", "harbor.test")
        self.procs: list[subprocess.Popen[bytes]] = []
        self.proxy: ConnectProxy | None = None
        self.engines: Engines | None = None
        self.ports: dict[str, int] = {}
        self.rootfs, self.oci = image_tars(base / "image")
        self.counter = itertools.count(1)
        self.last: dict[str, str] = {}

    # ---------------------------------------------------------------- start and stop

    def start(self) -> None:
        """Registry, nginx, proxy, then the engines; :meth:`stop` undoes whatever started."""
        b = self.base
        self.outside_before = outside_state()
        htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], capture_output=True,
                                  text=True, check=True, timeout=30).stdout  # fmt: skip
        (b / "htpasswd").write_text(htpasswd, encoding="utf-8")
        registry = S.free_port()
        config = S.registry_config(b / "registry", registry) + (
            f"auth:\n  htpasswd: {{realm: tlsprov-e2e, path: {b}/htpasswd}}\n"
        )
        (b / "registry.yml").write_text(config, encoding="utf-8")
        self.procs.append(S.start_daemon(["docker-registry", "serve", str(b / "registry.yml")],
                                         b / "registry.log", registry))  # fmt: skip
        self.registry = registry
        self.ports = {name: S.free_port() for name in ("plain", "mtls", "cn")}
        tls = S.tls_include(b, self.server / "harbor.test.crt", self.server / "harbor.test.key")
        cn_dir = b / "cn"
        cn_tls = S.tls_include(cn_dir, self.cn_cert, self.cn_key)
        servers = [(self.ports["plain"], tls, None),
                   (self.ports["mtls"], tls, self.issued.ca_cert),
                   (self.ports["cn"], cn_tls, None)]  # fmt: skip
        self.nginx_prefix = b / "nginx"
        self.procs.append(start_nginx(self.nginx_prefix, registry, servers))
        self.proxy = ConnectProxy(HOSTS)
        bundle = self.box.root / "etc" / "ssl" / "certs"
        self.reset()
        self.engines = start_engines(
            b / "engines", self.proxy, self.box.root / "etc" / "docker", ENGINES,
            docker_env={"SSL_CERT_FILE": str(bundle / "ca-certificates.crt"),
                        "SSL_CERT_DIR": str(bundle)},
        )  # fmt: skip
        e = self.engines
        assert e.docker("import", str(self.rootfs), "tlsprov-e2e/img:v1").returncode == 0
        assert e.podman("import", str(self.rootfs), "tlsprov-e2e/img:v1").returncode == 0
        imported = e.ctr("images", "import", "--base-name", CTR_IMAGE, str(self.oci))
        assert imported.returncode == 0, _step(imported)

    def stop(self) -> None:
        """Stop every process by its PID (engines first), then the proxy."""
        if self.engines is not None:
            self.engines.stop()
        for proc in reversed(self.procs):
            S.stop_process(proc)
        if self.proxy is not None:
            self.proxy.close()

    def reset(self) -> None:
        """Empty the host root's certs.d folders, trust anchors, state and records."""
        root = self.box.root
        for rel in ("etc/docker/certs.d", "etc/containers/certs.d", "etc/containerd/certs.d",
                    "usr/local/share/ca-certificates", "var/lib/tlsprov", "data"):  # fmt: skip
            folder = root / rel
            if folder.exists():
                for child in folder.iterdir():
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            folder.mkdir(parents=True, exist_ok=True)
        certs = root / "etc" / "ssl" / "certs"
        shutil.rmtree(certs, ignore_errors=True)
        certs.mkdir(parents=True)
        (certs / "ca-certificates.crt").write_bytes(b"")  # the sandbox's system bundle
        (root / "etc" / "ca-certificates.conf").write_text("", encoding="utf-8")
        (root / "etc" / "ca-certificates" / "update.d").mkdir(parents=True, exist_ok=True)
        (root / "usr" / "share" / "ca-certificates").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(S.HARBOR_DATA / "harbor.yml.tmpl", self.box.harbor / "harbor.yml")
        self.box.record_file.write_text("", encoding="utf-8")

    # ---------------------------------------------------------------- tlsprov

    def install(self, host: str, port: str, *extra: str) -> Any:
        """``tlsprov install`` of the session server bundle for ``host`` on a named port."""
        result = self.box.tlsprov(
            "install", "--bundle", str(self.server), "--host", host,
            "--port", str(self.ports.get(port, 0) or port), "--root", str(self.box.root),
            "--harbor-dir", "/opt/harbor", *extra,
        )  # fmt: skip
        assert result.returncode == 0, S.describe(result)
        return result

    def ref(self, host: str, port: str | int) -> str:
        """``host:port`` for a named port (or a number)."""
        return f"{host}:{self.ports[port] if isinstance(port, str) else port}"

    def folder(self, engine: str, host: str, port: str | int) -> Path:
        """The host folder tlsprov writes for ``engine``."""
        base = {"docker": "etc/docker/certs.d", "podman": "etc/containers/certs.d",
                "containerd": "etc/containerd/certs.d"}[engine]  # fmt: skip
        return self.box.root / base / self.ref(host, port)

    # ---------------------------------------------------------------- engine clients

    def login(self, engine: str, host: str, port: str | int) -> Step:
        """docker/podman login (ctr has none: a push instead, which needs TLS and auth)."""
        e, ref = self._engines(), self.ref(host, port)
        if engine == "docker":
            return _step(e.docker("login", "-u", USER, "--password-stdin", ref,
                                  stdin=PASSWORD + "\n"))  # fmt: skip
        if engine == "podman":
            cert_dir = str(self.folder("podman", host, port))
            return _step(e.podman("login", "--cert-dir", cert_dir, "-u", USER,
                                  "--password-stdin", ref, stdin=PASSWORD + "\n"))  # fmt: skip
        return self.push(engine, host, port)

    def push(self, engine: str, host: str, port: str | int) -> Step:
        """Tag the local image as a new repository on ``host:port`` and push it."""
        number = next(self.counter)
        e, target = self._engines(), f"{self.ref(host, port)}/e2e/{engine}{number}:v1"
        self.last[engine] = target
        if engine == "docker":
            tagged = e.docker("tag", "tlsprov-e2e/img:v1", target)
            return _step(tagged) if tagged.returncode else _step(e.docker("push", target))
        if engine == "podman":
            tagged = e.podman("tag", "tlsprov-e2e/img:v1", target)
            cert_dir = str(self.folder("podman", host, port))
            if tagged.returncode:
                return _step(tagged)
            return _step(e.podman("push", "--cert-dir", cert_dir, target))
        tagged = e.ctr("images", "tag", "--force", f"{CTR_IMAGE}:v1", target)
        if tagged.returncode:
            return _step(tagged)
        return _step(e.ctr("images", "push", *self._ctr_args(host, port), target))

    def pull(self, engine: str, host: str, port: str | int) -> Step:
        """Remove the last pushed image locally, then pull it back."""
        e, target = self._engines(), self.last[engine]
        if engine == "docker":
            e.docker("rmi", target)
            return _step(e.docker("pull", target))
        if engine == "podman":
            e.podman("rmi", target)
            cert_dir = str(self.folder("podman", host, port))
            return _step(e.podman("pull", "--cert-dir", cert_dir, target))
        e.ctr("images", "rm", target)
        return _step(e.ctr("images", "pull", *self._ctr_args(host, port), target))

    def roundtrip(self, engine: str, host: str, port: str | int) -> list[Step]:
        """login, push, pull: every step must succeed (the caller asserts)."""
        steps = [self.login(engine, host, port)]
        if engine != "containerd":
            steps.append(self.push(engine, host, port))
        steps.append(self.pull(engine, host, port))
        return steps

    def roundtrip_all(self, host: str, port: str | int) -> str:
        """:meth:`roundtrip` for every engine at once (threads); the failures, or ''."""
        with concurrent.futures.ThreadPoolExecutor(len(ENGINES)) as pool:
            runs = {e: pool.submit(self.roundtrip, e, host, port) for e in ENGINES}
            return "\n".join(
                f"{engine} {self.ref(host, port)}:\n{failed}"
                for engine, run in runs.items()
                if (failed := failures(run.result(timeout=300)))
            )

    def _ctr_args(self, host: str, port: str | int) -> list[str]:
        hosts_dir = self.box.root / "etc" / "containerd" / "certs.d"
        return ["--hosts-dir", str(hosts_dir), "--user", f"{USER}:{PASSWORD}"]

    def _engines(self) -> Engines:
        assert self.engines is not None, "the engines did not start"
        return self.engines


def failures(steps: list[Step]) -> str:
    """The failed steps, for an assertion message (empty when all passed)."""
    return "\n".join(str(s) for s in steps if s.returncode != 0)
