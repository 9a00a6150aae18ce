"""``tlsprov internal-tls issue|renew|status``: the certificates between Harbor's components."""

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
        "internal-tls",
        help="issue, renew and check Harbor's internal TLS set ([harbor.internal_tls])",
        description="Harbor's internal TLS: a private CA of its own and one certificate per "
        "component (serverAuth and clientAuth), checked as a whole, installed with backup and "
        "rollback. 'issue' makes the set and enables internal_tls in harbor.yml (prepare runs); "
        "'renew' renews due leaves from the same CA and restarts only the services that use "
        "them (no prepare); 'status' shows days left.",
    )
    p.add_argument("action", choices=("issue", "renew", "status"), help="what to do")
    add_config_arguments(p)
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument(
        "--force", action="store_true", help="issue a new set even when the current one is valid"
    )
    p.add_argument(
        "--with-trivy",
        action="store_true",
        default=None,
        help="include trivy_adapter (default: detected from docker-compose.yml)",
    )
    add_json(p)


def _result_lines(result: Any) -> list[str]:
    if result.operation == "dry-run":
        return [f"dry run ({result.reason}): nothing was changed", *result.plan]
    lines = [("issued a new internal TLS set: " if result.issued else "") + result.reason]
    lines += [f"  wrote {path}" for path in result.files]
    lines += [f"  ran {cmd}" for cmd in result.commands]
    if result.backup:
        lines.append(f"  backup: {result.backup} (undo with 'tlsprov rollback')")
    lines += [f"  note: {note}" for note in result.notes]
    return lines


def run(args: argparse.Namespace, out: Output) -> int:
    """Issue, renew or report the internal TLS set."""
    from tlsprov.cli._config_args import load_from_args
    from tlsprov.lifecycle.internal_tls import internal_tls_status, provision_internal

    config = load_from_args(args, out)
    if args.action == "status":
        report = internal_tls_status(config, with_trivy=args.with_trivy)
        for warning in report.warnings:
            out.warn(warning)
        out.result({"command": "internal-tls status", **report.to_json()}, report.lines())
        return 1 if report.problems else 0
    result = provision_internal(
        config,
        renew=args.action == "renew",
        force=args.force,
        dry_run=args.dry_run,
        with_trivy=args.with_trivy,
    )
    for warning in result.warnings:
        out.warn(warning)
    out.result(
        {"command": f"internal-tls {args.action}", **result.to_json()}, _result_lines(result)
    )
    return 0
