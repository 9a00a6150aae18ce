"""Real-program harness for the end-to-end tests (all on 127.0.0.1, dynamic ports).

Servers: ``docker-registry`` (session) and ``nginx`` in its own prefix (per test, certificates
differ). Clients: ``skopeo`` in a private mount namespace whose ``/etc/hosts`` maps
``harbor.test`` to 127.0.0.1, and ``tlsprov`` itself as a subprocess. A sandbox root holds a
Harbor install folder with the test ``prepare``; recording stand-ins for ``docker``,
``systemctl``, ``update-ca-certificates``... sit first on PATH (``fakes/``).

The real container engines (dockerd, containerd, podman) run once per session behind a
CONNECT proxy, with a registry behind nginx (``engine_world``, ``engines``; see ``_engines.py``).

Plain helpers live in ``_servers.py``, ``_support.py`` and ``_engines.py``, loaded here as the
modules ``tlsprov_e2e_servers``, ``tlsprov_e2e_support`` and ``tlsprov_e2e_engines`` so test
files can import them (pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def _load(name: str, filename: str) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("tlsprov_e2e_servers", "_servers.py")
S = _load("tlsprov_e2e_support", "_support.py")
E = _load("tlsprov_e2e_engines", "_engines.py")


@pytest.fixture(scope="session", autouse=True)
def _fakes_executable() -> None:
    """The recording programs must be executable (a checkout may lose the bit)."""
    for path in (*S.FAKES.iterdir(), *E.SANDBOX_TOOLS.iterdir()):
        if not path.name.startswith("_") and path.is_file():
            path.chmod(0o755)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A docker-registry on 127.0.0.1:<port> with its own config; yields the port."""
    folder = tmp_path_factory.mktemp("registry")
    port = S.free_port()
    config = folder / "config.yml"
    config.write_text(S.registry_config(folder / "data", port), encoding="utf-8")
    proc = S.start_daemon(["docker-registry", "serve", str(config)], folder / "log", port)
    try:
        yield port
    finally:
        S.stop_process(proc)


@pytest.fixture
def nginx(tmp_path_factory: pytest.TempPathFactory, registry: int) -> Iterator[Callable[..., Any]]:
    """Factory ``nginx(tls_include, port=P, client_ca=None)`` → a running ``NginxServer``.

    ``tls_include`` holds server-context TLS directives (``ssl_certificate``...), such as the
    file the test ``prepare`` renders. nginx listens with TLS on 127.0.0.1:P and proxies
    ``/v2/`` to the session registry; ``client_ca`` turns client verification on. Every nginx
    started here is stopped by PID when the test ends.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(tls_include: Path, *, port: int, client_ca: Path | None = None) -> Any:
        prefix = tmp_path_factory.mktemp("nginx")
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (prefix / "temp" / sub).mkdir(parents=True)
        conf = prefix / "nginx.conf"
        conf.write_text(
            S.nginx_conf(prefix, port, registry, tls_include, client_ca), encoding="utf-8"
        )
        base = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise AssertionError(f"nginx -t failed:\n{check.stdout}{check.stderr}")
        argv = [*base, "-g", "daemon off;"]
        proc = S.start_daemon(argv, prefix / "out.log", port, extra_log=prefix / "error.log")
        started.append(proc)
        return S.NginxServer(port=port, prefix=prefix, proc=proc)

    try:
        yield start
    finally:
        for proc in started:
            S.stop_process(proc)


@pytest.fixture(scope="session")
def skopeo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A ``Skopeo`` helper pushing a tiny stdlib-built OCI image (tag ``v1``)."""
    folder = tmp_path_factory.mktemp("skopeo")
    image = S.build_oci_image(folder / "img")
    hosts = folder / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {S.HOST}\n", "utf-8")
    home = folder / "home"
    home.mkdir()
    return S.Skopeo(hosts, image, home)


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """Factory ``sandbox(family="debian", harbor_yml="harbor.yml.tmpl", trivy=False)``.

    ``harbor_yml=None`` makes a client host without a Harbor install folder.
    """

    def make(
        family: str = "debian", harbor_yml: str | None = "harbor.yml.tmpl", trivy: bool = False
    ) -> Any:
        return S.Sandbox(tmp_path_factory.mktemp(f"sandbox-{family}"), family, harbor_yml, trivy)

    return make


@pytest.fixture(scope="session")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``tlsprov ca init`` + ``tlsprov issue harbor.test --alt-name 127.0.0.1`` (ec256), once."""
    issued = S.Issued(tmp_path_factory.mktemp("issued"))
    result = S.run_tlsprov(
        ["ca", "init", "--ca-dir", str(issued.ca_dir), "--key-type", "ec256"], issued.env
    )
    assert result.returncode == 0, S.describe(result)
    issued.issue(S.HOST, issued.server, "--alt-name", "127.0.0.1")
    return issued


@pytest.fixture(scope="session")
def engine_world(tmp_path_factory: pytest.TempPathFactory, issued: Any) -> Iterator[Any]:
    """Registry (basic auth) behind nginx (plain, mTLS, CN-only ports), the CONNECT proxy,
    containerd, dockerd and podman: started once, stopped by PID at the end of the session."""
    world = E.EngineWorld(tmp_path_factory.mktemp("engines"), issued)
    try:
        world.start()
        yield world
    finally:
        world.stop()


@pytest.fixture
def engines(engine_world: Any) -> Any:
    """The engine world with empty certs.d folders, trust anchors and tlsprov state."""
    engine_world.reset()
    return engine_world


def _load_path(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Pebble and challtestsrv for the ACME end-to-end path, from the ACME tests' harness.
_acme = _load_path("tlsprov_acme_harness", Path(__file__).parent.parent / "acme" / "conftest.py")
listener = _acme.listener
challtestsrv = _acme.challtestsrv
pebble = _acme.pebble
