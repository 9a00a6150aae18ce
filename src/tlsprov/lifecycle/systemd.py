"""Unit files for a daily ``tlsprov renew`` with a random delay."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path, PurePosixPath

__all__ = ["UNIT_DIR", "UNIT_NAME", "render_units"]

UNIT_NAME = "tlsprov-renew"
UNIT_DIR = PurePosixPath("/etc/systemd/system")


def render_units(config_path: Path | None, executable: str | None = None) -> dict[str, str]:
    """The service and timer texts, keyed by file name."""
    exe = executable or _default_executable()
    argv = [exe, "renew"]
    if config_path is not None:
        argv += ["--config", str(config_path.absolute())]
    service = (
        "[Unit]\n"
        "Description=Renew the Harbor registry's TLS certificate (tlsprov)\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={shlex.join(argv)}\n"
        "PrivateTmp=true\n"
    )
    timer = (
        "[Unit]\n"
        "Description=Daily tlsprov renewal check\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=daily\n"
        "RandomizedDelaySec=1h\n"
        "Persistent=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT_NAME}.service": service, f"{UNIT_NAME}.timer": timer}


def _default_executable() -> str:
    candidate = Path(sys.executable).with_name("tlsprov")
    return str(candidate) if candidate.exists() else "/usr/local/bin/tlsprov"
