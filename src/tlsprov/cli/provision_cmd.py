"""``tlsprov provision``: the main job, driven by tlsprov.toml."""

from __future__ import annotations

import argparse
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "result_lines", "run"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("the timeout must be between 0 and 3600 seconds")
    return value


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._config_args import add_config_arguments

    p: argparse.ArgumentParser = sub.add_parser(
        "provision",
        help="issue (or reuse) the certificate, install it everywhere, verify the registry",
        description="Read tlsprov.toml, issue a certificate unless a valid one exists, install "
        "it to every target (backing up and rolling back on failure), then verify the live "
        "endpoint, waiting a bounded time for Harbor to come back.",
    )
    add_config_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the live check (the bundle checks always run)",
    )
    p.add_argument(
        "--verify-timeout",
        type=_seconds,
        metavar="S",
        help="seconds to wait for the registry to answer (default 60)",
    )
    add_json(p)


def result_lines(result: Any, port: int = 443) -> list[str]:
    """Human lines for a ProvisionResult."""
    if result.dry_run:
        return [f"dry run for {result.hostname}: nothing was changed", *result.plan]
    lines = []
    if result.issued:
        lines.append(f"issued a new certificate for {result.hostname} ({result.reason})")
    else:
        lines.append(f"{result.hostname}: {result.reason}")
    if result.meta is not None:
        lines.append(f"  not after: {result.meta.not_after} (version {result.meta.version})")
    if result.changed:
        lines += [f"  wrote {path}" for path in result.files]
        lines += [f"  ran {cmd}" for cmd in result.commands]
        if result.backup:
            lines.append(f"  backup: {result.backup} (undo with 'tlsprov rollback')")
    elif result.meta is not None:
        lines.append("  installation: nothing to do, every target is up to date")
    if result.verified:
        where = result.hostname if port == 443 else f"{result.hostname}:{port}"
        if ":" in result.hostname:  # an IPv6 address needs brackets in a URL
            where = f"[{result.hostname}]" + ("" if port == 443 else f":{port}")
        lines.append(f"  verified https://{where} with the installed CA")
    lines += [f"  note: {note}" for note in result.notes]
    return lines


def run(args: argparse.Namespace, out: Output) -> int:
    """Provision as configured."""
    from dataclasses import replace

    from tlsprov.cli._config_args import load_from_args
    from tlsprov.lifecycle.provision import provision

    config = load_from_args(args, out)
    if args.verify_timeout is not None:
        config = replace(
            config, install=replace(config.install, verify_timeout=args.verify_timeout)
        )
    result = provision(config, dry_run=args.dry_run, verify=False if args.no_verify else None)
    for warning in result.warnings:
        out.warn(warning)
    lines = result_lines(result, config.harbor.https_port)
    out.result({"command": "provision", **result.to_json()}, lines)
    return 0
