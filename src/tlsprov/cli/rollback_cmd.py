"""``tlsprov rollback``: undo the newest install that changed files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._numbers import seconds
from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = sub.add_parser(
        "rollback",
        help="restore the files replaced by the last install and re-run its commands",
        description="Restore every file the newest install replaced (byte for byte, with its "
        "mode), remove the files and empty folders it created, and re-run its commands.",
    )
    p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help="root (/)")
    p.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="backups and lock (ROOT/var/lib/tlsprov)"
    )
    p.add_argument(
        "--lock-timeout",
        type=seconds(zero=True),
        default=0.0,
        metavar="S",
        help="wait for a busy lock",
    )
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Roll back and print what was restored."""
    import tlsprov.lifecycle.lineage  # noqa: F401  (registers the lineage's rollback hook)
    from tlsprov.install.rollback import rollback_last

    result = rollback_last(args.root.resolve(), args.state_dir, lock_timeout=args.lock_timeout)
    for warning in result.warnings:
        out.warn(warning)
    out.result(result.to_json(), result.lines())
    return 0
