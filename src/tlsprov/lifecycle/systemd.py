"""Unit files for ``tlsprov renew`` twice a day with a random delay (certbot's cadence).

A renewal window of a third of the lifetime leaves a six-day certificate two days: two
attempts a day renew it with days to spare and retry a failed attempt within hours.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path, PurePosixPath

__all__ = ["UNIT_DIR", "UNIT_NAME", "render_units"]

UNIT_NAME = "tlsprov-renew"
UNIT_DIR = PurePosixPath("/etc/systemd/system")


def render_units(config_path: Path | None, executable: str | None = None) -> dict[str, str]:
    """The service and timer texts, keyed by file name.

    ``config_path=None`` leaves the config out of the unit: ``tlsprov renew`` then finds it
    itself (``$TLSPROV_CONFIG``, ``./tlsprov.toml``, ``/etc/tlsprov/tlsprov.toml``).
    """
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
        "Description=tlsprov renewal check, twice a day\n"
        "\n"
        "[Timer]\n"
        "OnCalendar=*-*-* 00,12:00:00\n"
        "RandomizedDelaySec=12h\n"
        "Persistent=true\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT_NAME}.service": service, f"{UNIT_NAME}.timer": timer}


def _default_executable() -> str:
    candidate = Path(sys.executable).with_name("tlsprov")
    return str(candidate) if candidate.exists() else "/usr/local/bin/tlsprov"
