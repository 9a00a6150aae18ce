"""``tlsprov status``: every managed certificate, its days left and its last outcome."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._config_args import add_config_arguments

    p: argparse.ArgumentParser = sub.add_parser(
        "status", help="list managed certificates with days left and the last renewal's outcome"
    )
    add_config_arguments(p)
    p.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="read this state folder directly (no config needed)",
    )
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the status table."""
    from tlsprov.lifecycle.status import status_of_state

    internal: Any = None
    rollover: dict[str, Any] | None = None
    if args.state_dir is not None:
        state = args.state_dir
    else:
        from tlsprov.cli._config_args import load_from_args

        config = load_from_args(args, out)
        state = config.state_path
        from tlsprov.cli.ca_rotate import rollover_status

        rollover = rollover_status(config)
        if config.harbor.internal_tls.enabled:
            from tlsprov.lifecycle.internal_tls import internal_tls_status

            internal = internal_tls_status(config)
            for warning in internal.warnings:
                out.warn(warning)
    entries = list(status_of_state(state))
    lines = [f"{'NAME':<32} {'PROVIDER':<12} {'LEFT':>12}  {'VER':<4} {'TARGETS':<24} LAST"]
    lines += [entry.line() for entry in entries]
    if not entries:
        lines = [f"no managed certificates in {state}; run 'tlsprov provision'"]
    data: dict[str, Any] = {
        "command": "status",
        "state_dir": str(state),
        "certificates": [e.to_json() for e in entries],
    }
    if rollover is not None:
        data["ca_rollover"] = rollover
    if rollover is not None and rollover["phase"] != "none":
        lines.append(
            f"CA rollover: phase {rollover['phase']}; clients must trust "
            + ", ".join(rollover["trusted_sha256"])
            + (f"; next: {rollover['next_step']}" if rollover.get("next_step") else "")
        )
        if rollover["installed_sha256"] and not rollover["installed_current"]:
            lines.append(
                "  this host's installed trust bundle does not match yet: run 'tlsprov provision'"
            )
    if internal is not None:
        data["internal_tls"] = internal.to_json()
        lines += internal.lines()
    out.result(data, lines)
    return 0
