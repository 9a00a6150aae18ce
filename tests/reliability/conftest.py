"""Fixtures for the reliability suite: sandboxes, two issued bundles, a forking CLI runner.

The sandbox (a fake host root with a Harbor install folder and the recording programs of
``tests/e2e/fakes`` first on PATH) comes from ``tests/e2e/_support.py``, loaded by path
(pytest runs with ``--import-mode=importlib``). :func:`fork_cli` runs ``tlsprov.cli.main`` in a
forked child — with the fault probes of ``_faults.py`` when asked — so a SIGKILL at any step
costs milliseconds instead of a fresh interpreter.
"""

from __future__ import annotations

import compileall
import importlib.util
import io
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
E2E = HERE.parent / "e2e"


def _load(name: str, path: Path) -> ModuleType:
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
F = _load("tlsprov_reliability_faults", HERE / "_faults.py")
_load("tlsprov_reliability_badacme", HERE / "_badacme.py")
_load("tlsprov_reliability_configs", HERE / "_configs.py")

FORK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Run:
    """How a forked CLI run ended: exit code (None when killed), signal, output, events."""

    argv: list[str]
    code: int | None
    signal: int | None
    stdout: str
    stderr: str
    events: list[dict[str, Any]]

    @property
    def hit(self) -> dict[str, Any] | None:
        """The step the fault struck, if it did."""
        return next((e for e in self.events if e["hit"]), None)

    def describe(self) -> str:
        """For assertion messages."""
        where = self.hit["step"] if self.hit else "no fault"
        return (
            f"$ tlsprov {' '.join(self.argv)}\nexit {self.code} signal {self.signal} "
            f"(fault: {where})\n--- stdout\n{self.stdout[-2000:]}\n--- stderr\n"
            f"{self.stderr[-2000:]}"
        )


def _child(argv: list[str], env: dict[str, str], spec: dict[str, Any] | None, out: Path) -> None:
    code = 99
    try:
        os.environ.clear()
        os.environ.update(env)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
        if spec is not None:
            F.install_probes(spec)
        from tlsprov.cli import main

        code = main(argv)
    except BaseException:  # a test bug: show it in the parent's assertion message
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# What install, rollback, provision and renew import on first use (seen in sys.modules after
# a child's run): imported once in the parent, not again in every forked child.
_WARM_MODULES = (
    "cryptography.hazmat.backends.openssl",
    "cryptography.hazmat.primitives.serialization",
    "ruamel.yaml.mergevalue",
    "tlsprov.cli._logging",
    "tlsprov.install.engine",
    "tlsprov.install.rollback",
    "tlsprov.install.rollback_hooks",
    "tlsprov.install.render",
    "tlsprov.lifecycle.provision",
    "tlsprov.lifecycle.renewal",
    "tlsprov.lifecycle.rollover",
    "tlsprov.pki.bundlecheck",
    "tlsprov.plugins.rotation",
    "tlsprov_selfsigned._provider",
    "tlsprov_selfsigned._rotate",
)


def _warm() -> None:
    """Import in the parent what every child needs, so each fork starts warm."""
    import tlsprov.install.targets.harboryml
    import tlsprov.plugins.registry
    from tlsprov.cli import build_parser

    for name in _WARM_MODULES:
        importlib.import_module(name)
    build_parser()
    tlsprov.install.targets.harboryml._yaml()
    registry = tlsprov.plugins.registry.default_registry()
    for name in ("harbor", "docker", "containerd", "podman", "os-trust"):
        registry.get_target(name)


def fork_cli(
    argv: list[str], env: dict[str, str], work: Path, spec: dict[str, Any] | None = None
) -> Run:
    """Run ``tlsprov ARGV`` in a forked child with ``env``; optional fault ``spec``."""
    _warm()
    work.mkdir(parents=True, exist_ok=True)
    events = work / "events.jsonl"
    events.unlink(missing_ok=True)
    if spec is not None:
        spec = {**spec, "events": str(events)}
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _child(argv, env, spec, work)
    deadline = time.monotonic() + FORK_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"tlsprov {argv} did not finish within {FORK_TIMEOUT} s")
        time.sleep(0.002)
    lines = events.read_text().splitlines() if events.exists() else []
    return Run(
        argv=argv,
        code=os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        stdout=(work / "stdout").read_text(errors="replace"),
        stderr=(work / "stderr").read_text(errors="replace"),
        events=[json.loads(line) for line in lines],
    )


@dataclass(frozen=True)
class Bundles:
    """Two server bundles for harbor.test from two different CAs (ec256)."""

    a: Path
    b: Path


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Bundles:
    """``tlsprov ca init`` twice and ``tlsprov issue harbor.test`` from each CA."""
    base = tmp_path_factory.mktemp("bundles")
    out: list[Path] = []
    for name in ("a", "b"):
        issued = S.Issued(base / name)
        result = S.run_tlsprov(
            ["ca", "init", "--ca-dir", str(issued.ca_dir), "--key-type", "ec256"], issued.env
        )
        assert result.returncode == 0, S.describe(result)
        out.append(issued.issue(S.HOST, issued.server, "--alt-name", "127.0.0.1"))
    return Bundles(a=out[0], b=out[1])


@pytest.fixture(scope="session")
def fast_fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of the recording programs of tests/e2e/fakes run by this interpreter with ``-S``.

    Their ``#!/usr/bin/env python3`` may find a slow shim first on PATH; fault enumeration
    runs them hundreds of times. Behaviour is unchanged: same code, same record format.
    Their shared modules are byte-compiled here, since the sandbox environment (and perhaps the
    machine's) sets ``PYTHONDONTWRITEBYTECODE``.
    """
    folder = tmp_path_factory.mktemp("fakes")
    for path in S.FAKES.iterdir():
        if not path.is_file() or path.name == "prepare":
            continue
        text = path.read_text(encoding="utf-8")
        if text.startswith("#!"):
            text = f"#!{sys.executable} -S\n" + text.split("\n", 1)[1]
        (folder / path.name).write_text(text, encoding="utf-8")
        (folder / path.name).chmod(0o755)
    compileall.compile_dir(folder, quiet=1)  # their modules load from bytecode, not source
    return folder


@pytest.fixture
def sandbox(tmp_path: Path, fast_fakes: Path) -> Callable[..., Any]:
    """Factory ``sandbox(family="debian", harbor_yml="harbor.yml.tmpl")`` (tests/e2e's)."""
    count = iter(range(1000))

    def make(family: str = "debian", harbor_yml: str | None = "harbor.yml.tmpl") -> Any:
        base = tmp_path / f"box{next(count)}"
        base.mkdir()
        box = S.Sandbox(base, family, harbor_yml, False)
        box.env["PATH"] = f"{fast_fakes}{os.pathsep}{box.env['PATH']}"
        return box

    return make


@pytest.fixture
def cli() -> Callable[..., Run]:
    """``fork_cli`` as a fixture."""
    return fork_cli


RECORDING_PREPARE = """#!{python} -S
import os, sys, time
sys.path.insert(0, {fakes!r})
from _recorder import main
time.sleep({delay})
sys.exit(main("prepare"))
"""


@pytest.fixture
def recording_prepare(fast_fakes: Path) -> Callable[..., None]:
    """``recording_prepare(box, delay=0.0)``: replace the sandbox's rendering ``prepare`` by a
    recorder (optionally slow). Fault enumeration runs prepare hundreds of times."""

    def use(box: Any, delay: float = 0.0) -> None:
        prepare = box.harbor / "prepare"
        text = RECORDING_PREPARE.format(python=sys.executable, fakes=str(fast_fakes), delay=delay)
        prepare.write_text(text, encoding="utf-8")
        prepare.chmod(0o755)

    return use
