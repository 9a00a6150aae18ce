"""Fixtures for the security suite: the CLI under a chosen umask, the e2e sandbox, Pebble.

The e2e helpers (sandbox root, recording fakes) and the ACME harness (Pebble +
challtestsrv) are loaded by path and re-used as they are; pytest runs with
``--import-mode=importlib``, so they cannot be imported by name.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_load("tlsprov_e2e_servers", REPO / "tests" / "e2e" / "_servers.py")
S = _load("tlsprov_e2e_support", REPO / "tests" / "e2e" / "_support.py")
ACME = _load("tlsprov_security_acme_harness", REPO / "tests" / "acme" / "conftest.py")
H = _load("tlsprov_security_helpers", Path(__file__).with_name("_helpers.py"))

# The ACME harness's fixtures, registered here (same Pebble configuration as tests/acme).
listener = ACME.listener
challtestsrv = ACME.challtestsrv
pebble = ACME.pebble
pebble_factory = ACME.pebble_factory


@pytest.fixture(scope="session", autouse=True)
def _fakes_executable() -> None:
    """The recording programs must be executable (a checkout may lose the bit)."""
    for path in S.FAKES.iterdir():
        if not path.name.startswith("_") and path.is_file():
            path.chmod(0o755)


@pytest.fixture
def tree() -> Callable[[Path], dict[str, tuple[int, bytes | None]]]:
    """``tlsprov.testing.tree_snapshot`` as a fixture."""
    from tlsprov.testing import tree_snapshot

    return tree_snapshot


@pytest.fixture
def make_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """Factory for the e2e sandbox root (Harbor install folder, fakes on PATH)."""

    def make(family: str = "debian", harbor_yml: str | None = "harbor.yml.tmpl") -> Any:
        return S.Sandbox(tmp_path_factory.mktemp(f"sec-{family}"), family, harbor_yml, False)

    yield make
