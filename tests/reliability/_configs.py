"""Config files for the reliability tests (loaded by conftest.py as
``tlsprov_reliability_configs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = '"harbor", "docker", "os-trust"'


def provision_config(box: Any, targets: str = TARGETS, extra: str = "") -> Path:
    """A provision config for ``box``: CA under the root, no live check, ``extra`` lines
    appended to ``[install]``."""
    path = box.base / "tlsprov.toml"
    path.write_text(
        '[harbor]\nhostname = "harbor.test"\nhttps_port = 8443\nalt_names = ["127.0.0.1"]\n'
        'install_dir = "/opt/harbor"\n[provider]\nname = "selfsigned"\n'
        '[provider.selfsigned]\nca_dir = "/etc/tlsprov/ca"\nkey_type = "ec256"\n'
        f'[install]\nroot = "{box.root}"\ntargets = [{targets}]\nverify = false\n{extra}',
        encoding="utf-8",
    )
    return path
