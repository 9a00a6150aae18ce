"""``tlsprov renew``: renew when due, with hooks; safe to run daily from a timer."""

from __future__ import annotations

import argparse
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._config_args import add_config_arguments

    p: argparse.ArgumentParser = sub.add_parser(
        "renew",
        help="renew the certificate when it is due, reinstall and verify (for a daily timer)",
        description="Renew when less than [renew] before of the lifetime is left (a third by "
        "default) or the CA's renewal information says so; run the hooks; reinstall; verify; "
        "roll back to the previous certificate on failure.",
    )
    add_config_arguments(p)
    p.add_argument("--force", action="store_true", help="renew now even if not due")
    p.add_argument("--no-verify", action="store_true", help="skip the live check")
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Renew as configured."""
    from tlsprov.cli._config_args import load_from_args
    from tlsprov.cli.provision_cmd import result_lines
    from tlsprov.lifecycle.renewal import renew

    config = load_from_args(args, out)
    result = renew(config, force=args.force, verify=False if args.no_verify else None)
    for warning in result.warnings:
        out.warn(warning)
    lines = (
        result_lines(result, config.harbor.https_port)
        if result.issued
        else [f"{result.hostname}: {result.reason}"]
    )
    data = {"command": "renew", "renewed": result.issued, **result.to_json()}
    if config.harbor.internal_tls.enabled:  # the same window rule, the same timer
        from tlsprov.lifecycle.internal_tls import provision_internal

        internal = provision_internal(config, renew=True, force=args.force)
        for warning in internal.warnings:
            out.warn(warning)
        data["internal_tls"] = internal.to_json()
        lines.append(f"internal TLS: {'renewed, ' if internal.issued else ''}{internal.reason}")
        lines += [f"  ran {cmd}" for cmd in internal.commands]
    out.result(data, lines)
    return 0
