"""Fixtures for the example plugin distribution in ``examples/tlsprov-example-provider``.

- ``pki``: a root CA and an intermediate CA (ec256) written as PEM files.
- ``example_source``: the plugin package imported from the source tree (nothing installed).
- ``installed_example``: the distribution really installed into the virtualenv with pip (offline,
  from a copy so no build/ or egg-info lands in the tree) and always uninstalled afterwards.
- ``servers``: a docker-registry, nginx and skopeo on 127.0.0.1; ``make_sandbox``: a Debian
  sandbox root with a Harbor install folder. Both reuse the e2e harness's helper modules
  (``tests/e2e/_servers.py``, ``_support.py``), loaded by path as ``tests/e2e/conftest.py``
  loads them; this folder's plain helpers (``_helpers.py``) are loaded the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
E2E = HERE.parent / "e2e"
PIP_TIMEOUT = 180


def _load(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("tlsprov_e2e_servers", E2E / "_servers.py")
S = _load("tlsprov_e2e_support", E2E / "_support.py")
H = _load("tlsprov_example_helpers", HERE / "_helpers.py")


@pytest.fixture
def pki(tmp_path: Path) -> Any:
    """Root CA → intermediate CA (ec256) in ``tmp_path/pki`` (see ``_helpers.Pki``)."""
    return H.make_pki(tmp_path / "pki")


# --------------------------------------------------------------------------- the distribution


@pytest.fixture
def example_source(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The plugin package imported from ``examples/.../src`` (nothing installed)."""
    src = H.EXAMPLE / "src"
    monkeypatch.syspath_prepend(str(src))
    module = importlib.import_module(H.PACKAGE)
    assert Path(str(module.__file__)).is_relative_to(src), module.__file__
    return module


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False,
    )  # fmt: skip


@dataclass
class InstalledExample:
    """The installed distribution; :meth:`uninstall` removes it (idempotent)."""

    installed: bool = True

    def uninstall(self) -> None:
        """``pip uninstall -y tlsprov-example-provider``."""
        if not self.installed:
            return
        result = _pip("uninstall", "--yes", H.DIST_NAME)
        assert result.returncode == 0, result.stdout + result.stderr
        self.installed = False


@pytest.fixture
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InstalledExample]:
    """Install the example distribution with pip (offline, from a copy); always uninstall it.

    Other tests compute "choose one of" lists from the installed plugins, so the distribution
    never outlives this fixture.
    """
    copy = tmp_path_factory.mktemp("example-dist") / H.EXAMPLE.name
    shutil.copytree(
        H.EXAMPLE, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    handle = InstalledExample()
    try:
        result = _pip(
            "install", "--no-deps", "--no-build-isolation", "--no-index", "--force-reinstall",
            str(copy),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        yield handle
    finally:
        handle.uninstall()
        assert not H.dist_installed(), f"{H.DIST_NAME} is still installed"


# --------------------------------------------------------------------------- servers


@dataclass
class Servers:
    """A docker-registry and skopeo; :meth:`nginx` starts nginx. Stopped by PID at the end."""

    base: Path
    registry: int
    skopeo: Any
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def nginx(self, tls_include: Path, port: int) -> Any:
        """nginx with TLS on 127.0.0.1:``port`` from ``tls_include``, ``/v2/`` → registry."""
        prefix = self.base / f"nginx-{port}"
        for sub in ("body", "proxy", "fcgi", "uwsgi", "scgi"):
            (prefix / "temp" / sub).mkdir(parents=True)
        conf = prefix / "nginx.conf"
        conf.write_text(S.nginx_conf(prefix, port, self.registry, tls_include, None), "utf-8")
        base = ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
        check = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t failed:\n{check.stdout}{check.stderr}"
        proc = S.start_daemon(
            [*base, "-g", "daemon off;"], prefix / "out.log", port, extra_log=prefix / "error.log"
        )
        self.started.append(proc)
        return S.NginxServer(port=port, prefix=prefix, proc=proc)


@pytest.fixture
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """A docker-registry on loopback, skopeo, and an nginx factory (see :class:`Servers`)."""
    base = tmp_path_factory.mktemp("servers")
    port = S.free_port()
    (base / "registry.yml").write_text(S.registry_config(base / "data", port), "utf-8")
    registry = S.start_daemon(
        ["docker-registry", "serve", str(base / "registry.yml")], base / "registry.log", port
    )
    hosts = base / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n::1 localhost\n127.0.0.1 {S.HOST}\n", "utf-8")
    (base / "home").mkdir()
    found = Servers(base, port, S.Skopeo(hosts, S.build_oci_image(base / "img"), base / "home"))
    found.started.append(registry)
    try:
        yield found
    finally:
        for proc in reversed(found.started):
            S.stop_process(proc)


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Any]:
    """Factory for a Debian sandbox root with a Harbor install folder (the e2e ``Sandbox``)."""

    def make() -> Any:
        return S.Sandbox(tmp_path_factory.mktemp("sandbox"), "debian", "harbor.yml.tmpl", False)

    return make
