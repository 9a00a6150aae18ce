"""Fixtures for the install engine tests: a test PKI, a sandbox root, recording programs and
an ad-hoc ``demo`` target registered on a fresh registry."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import tlsprov
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.plugins.registry import Registry
from tlsprov.plugins.specs import TargetSpec
from tlsprov.runner import CommandRunner
from tlsprov.testing import registry_with


def _load_pki() -> ModuleType:
    name = "tlsprov_test_pki"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_pki.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


pki = _load_pki()

RECORDER = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
with open(os.environ["TLSPROV_TEST_RECORD"], "a", encoding="utf-8") as fh:
    fh.write(json.dumps({{"argv": [name, *sys.argv[1:]], "cwd": os.getcwd()}}) + "\\n")
code = os.environ.get("TLSPROV_TEST_FAIL_" + name.upper().replace("-", "_"), "")
if code:
    print(name + ": failing on purpose", file=sys.stderr)
sys.exit(int(code or 0))
"""


@dataclass
class Recorder:
    """Recording programs in ``bin_dir``; every call lands as a JSON line in ``log``."""

    bin_dir: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def add(self, *names: str) -> None:
        for name in names:
            path = self.bin_dir / name
            path.write_text(RECORDER.format(python=sys.executable))
            path.chmod(0o755)

    @property
    def path(self) -> str:
        return f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}"

    def runner(self) -> CommandRunner:
        return CommandRunner(
            path=self.path, env={"TLSPROV_TEST_RECORD": str(self.log), **self.env}, timeout=30
        )

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line)["argv"] for line in self.log.read_text().splitlines()]

    def clear(self) -> None:
        self.log.unlink(missing_ok=True)


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    rec = Recorder(bin_dir=bin_dir, log=tmp_path / "calls.jsonl")
    rec.add("demo-reload", "demo-ctl", "demo-compose")
    return rec


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    (path / "etc").mkdir(parents=True)
    (path / "etc" / "keep.txt").write_text("not ours\n")
    return path


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def ca() -> Any:
    return pki.TestCA()


@pytest.fixture
def bundle(ca: Any) -> IssuedBundle:
    bundle: IssuedBundle = ca.bundle(["harbor.test", "127.0.0.1"])
    return bundle


@pytest.fixture
def zero_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


class DemoTarget:
    """Writes a CA, a key and a small config under /etc/demo; reloads with ``demo-reload``."""

    def __init__(self, extra_commands: tuple[CommandStep, ...] = ()) -> None:
        self.extra_commands = extra_commands

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        folder = PurePosixPath("/etc/demo") / context.registry
        return Plan(
            target="demo",
            writes=(
                FileWrite(path=folder / "ca.crt", content=bundle.ca_pem, description="the demo CA"),
                FileWrite(
                    path=folder / "server.key",
                    content=bundle.private_key_pem,
                    secret=True,
                    description="the demo key",
                ),
                FileWrite(
                    path=PurePosixPath("/etc/demo.conf"),
                    content=f"server_name {context.host}\nport {context.port}\n".encode(),
                    mode=0o640,
                    description="the demo config",
                ),
            ),
            commands=(
                CommandStep(argv=("demo-reload", "now"), reason="the demo daemon re-reads"),
                *self.extra_commands,
            ),
            notes=("demo note",),
        )


class OtherTarget:
    """Writes one file under /srv/other; its command runs only when that file changes."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        return Plan(
            target="other",
            writes=(FileWrite(path=PurePosixPath("/srv/other/ca.pem"), content=bundle.ca_pem),),
            commands=(CommandStep(argv=("demo-ctl", "other"), reason="other reload"),),
        )


def make_registry(**targets: Callable[[], object]) -> Registry:
    """A fresh registry offering exactly ``targets`` (name → factory)."""

    class Plugin:
        @tlsprov.hookimpl
        def tlsprov_register_targets(self) -> list[TargetSpec]:
            return [
                TargetSpec(name=name.replace("_", "-"), factory=factory)  # type: ignore[arg-type]
                for name, factory in targets.items()
            ]

    return registry_with(Plugin())


@pytest.fixture
def demo_registry() -> Registry:
    return make_registry(demo=DemoTarget, other=OtherTarget)


@pytest.fixture
def context(root: Path) -> InstallContext:
    return InstallContext(root=root, host="harbor.test", port=8443)


@pytest.fixture
def kit() -> SimpleNamespace:
    """Helpers test modules cannot import directly (importlib mode)."""
    return SimpleNamespace(
        pki=pki, DemoTarget=DemoTarget, OtherTarget=OtherTarget, make_registry=make_registry
    )
