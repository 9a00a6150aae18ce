"""``tlsprov systemd``: a service and a timer for renewal twice a day, printed or written."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = sub.add_parser(
        "systemd", help="print (or --write) a systemd service and timer that renew twice a day"
    )
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="bake this config into the unit (default: renew finds it when it runs)",
    )
    p.add_argument(
        "--write",
        action="store_true",
        help="write the units under ROOT/etc/systemd/system instead of printing them",
    )
    p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help="root (default /)")
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Print or write the units."""
    from tlsprov.fsops import atomic_write, refuse_symlinks
    from tlsprov.lifecycle.config import find_config
    from tlsprov.lifecycle.systemd import UNIT_DIR, UNIT_NAME, render_units

    config_path = find_config(args.config) if args.config is not None else None
    units = render_units(config_path)
    folder = args.root.joinpath(*UNIT_DIR.parts[1:])
    written: list[str] = []
    if args.write:
        for name in units:
            refuse_symlinks(folder / name, stop=args.root)
        for name, text in units.items():
            atomic_write(folder / name, text.encode())
            written.append(str(folder / name))
        lines = [f"wrote {path}" for path in written]
        lines.append(
            f"enable it: systemctl daemon-reload && systemctl enable --now {UNIT_NAME}.timer"
        )
    else:
        lines = []
        for name, text in units.items():
            lines += [f"# {UNIT_DIR / name}", text]
    out.result({"command": "systemd", "units": units, "written": written}, lines)
    return 0
