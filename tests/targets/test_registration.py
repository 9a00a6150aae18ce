"""The built-in targets register through the hook and build without arguments."""

from __future__ import annotations

import subprocess
import sys

import tlsprov.install.targets
from tlsprov.plugins.interfaces import Target
from tlsprov.testing import registry_with

NAMES = ["containerd", "docker", "harbor", "os-trust", "podman"]


def test_registered_names_and_protocol() -> None:
    registry = registry_with(tlsprov.install.targets)
    assert sorted(registry.targets()) == NAMES
    for name in NAMES:
        assert isinstance(registry.get_target(name), Target)
        assert registry.targets()[name].spec.description


def test_installed_entry_point_offers_them() -> None:
    registry = registry_with(entry_points=True)
    assert set(NAMES) <= set(registry.targets())


def test_import_is_light() -> None:
    code = (
        "import sys, tlsprov.install.targets; tlsprov.install.targets.tlsprov_register_targets(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ruamel', 'cryptography')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
