"""Options shared by the config-driven commands (provision, renew, status, systemd)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tlsprov.cli._output import Output
    from tlsprov.lifecycle.config import Config

__all__ = ["add_config_arguments", "load_from_args"]


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    """``--config FILE`` and ``--root DIR``."""
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="tlsprov.toml (default: $TLSPROV_CONFIG, ./tlsprov.toml, /etc/tlsprov/tlsprov.toml)",
    )
    p.add_argument(
        "--root", type=Path, metavar="DIR", help="install root (overrides [install] root)"
    )


def load_from_args(args: argparse.Namespace, out: Output) -> Config:
    """Load the config named by the arguments; print its warnings."""
    from tlsprov.lifecycle.config import load_config

    overrides = {"root": str(args.root)} if args.root is not None else None
    config = load_config(args.config, overrides=overrides)
    for warning in config.warnings:
        out.warn(warning)
    return config
