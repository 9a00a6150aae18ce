"""The demo's sandbox host: a root with a Harbor install folder, stand-in commands, a config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tlsprov.fsops import atomic_write, ensure_dir

__all__ = ["DEMO_HOST", "Sandbox", "build_sandbox"]

DEMO_HOST = "harbor.test"
_OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
_COMPOSE = "services:\n  proxy:\n    image: goharbor/nginx-photon\n    container_name: nginx\n"
# Stand-ins for the programs that need a Docker engine or systemd: they only record the call.
_RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "$TLSPROV_DEMO_RECORD"\n'
_STAND_INS = ("docker", "docker-compose", "systemctl", "update-ca-certificates")


@dataclass(frozen=True, slots=True)
class Sandbox:
    """Where everything of the demo lives."""

    dir: Path
    port: int

    @property
    def root(self) -> Path:
        """The fake host's ``/``."""
        return self.dir / "root"

    @property
    def harbor(self) -> Path:
        """Harbor's install folder (``/opt/harbor`` on the fake host)."""
        return self.root / "opt" / "harbor"

    @property
    def bin(self) -> Path:
        """The stand-in commands, first on the demo's PATH."""
        return self.dir / "bin"

    @property
    def record(self) -> Path:
        """Every command the stand-ins received, one per line."""
        return self.dir / "commands.log"

    @property
    def config(self) -> Path:
        """The demo's tlsprov.toml."""
        return self.dir / "tlsprov.toml"

    @property
    def ca_dir(self) -> Path:
        """The private CA (kept between runs), inside the root like everything tlsprov writes."""
        return self.root / "etc" / "tlsprov" / "ca"

    def environment(self) -> dict[str, str]:
        """Extra environment for the commands tlsprov runs."""
        return {"TLSPROV_DEMO_ROOT": str(self.root), "TLSPROV_DEMO_RECORD": str(self.record)}

    def path(self) -> str:
        """PATH with the stand-ins first."""
        return f"{self.bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}"


def _config_text(box: Sandbox, key_type: str | None, engines: bool) -> str:
    key = f'key_type = "{key_type}"\n' if key_type else ""
    targets = (
        '"harbor", "docker", "containerd", "podman", "os-trust"'
        if engines
        else ('"harbor", "docker", "os-trust"')
    )
    return (
        "# The demo's configuration: a sandbox Harbor on harbor.test, private CA.\n"
        f'[harbor]\nhostname = "{DEMO_HOST}"\nhttps_port = {box.port}\n'
        'alt_names = ["127.0.0.1"]\ninstall_dir = "/opt/harbor"\n\n'
        '[provider]\nname = "selfsigned"\n\n'
        f'[provider.selfsigned]\nca_dir = "{box.ca_dir}"\n{key}\n'
        f'[install]\nroot = "{box.root}"\ntargets = [{targets}]\n'
        f'connect = "127.0.0.1:{box.port}"\n'
    )


def _write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    if not path.exists():
        atomic_write(path, data, mode=mode)


def build_sandbox(
    folder: Path, port: int, key_type: str | None, *, engines: bool = False
) -> Sandbox:
    """Create (or keep) the sandbox in ``folder``; files already there are left as they are,
    so a second run sees the first run's result. ``engines`` adds the containerd and podman
    targets."""
    box = Sandbox(dir=folder.absolute(), port=port)
    ensure_dir(box.dir)
    _write_new(box.root / "etc" / "os-release", _OS_RELEASE.encode())
    ensure_dir(box.root / "data")
    ensure_dir(box.root / "etc" / "docker")
    package = resources.files("tlsprov.demo")
    _write_new(box.harbor / "harbor.yml", package.joinpath("harbor.yml.tmpl").read_bytes())
    prepare = package.joinpath("prepare.py").read_bytes()
    _write_new(box.harbor / "prepare", f"#!{sys.executable}\n".encode() + prepare, 0o755)
    _write_new(box.harbor / "docker-compose.yml", _COMPOSE.encode())
    for name in _STAND_INS:
        _write_new(box.bin / name, _RECORDER.encode(), 0o755)
    # The port may differ between runs: the config is rewritten, everything else is kept.
    atomic_write(box.config, _config_text(box, key_type, engines).encode())
    return box
