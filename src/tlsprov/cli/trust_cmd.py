"""``tlsprov trust HOST[:PORT]``: install what a client needs to pull from a registry.

``ca.crt`` (and a client pair for mutual TLS) in the engines' certs.d folders and the CA in the
OS store, through the install engine. The CA comes from ``--ca FILE`` or, pinned by
``--fingerprint``, from Harbor's ``/api/v2.0/systeminfo/getcert``.
"""

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
        "trust",
        help="make this machine trust a registry: ca.crt in certs.d and the OS store",
        description="Install the registry's CA (and a client pair for mutual TLS) where "
        "Docker, containerd, podman and the OS look, with backup and rollback. Never needs "
        "or writes a server key. A second run changes nothing.",
    )
    p.add_argument("target", metavar="HOST[:PORT]", help="registry name, e.g. harbor.test:8443")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--ca", type=Path, metavar="FILE", help="the CA file to trust")
    source.add_argument(
        "--from-harbor",
        action="store_true",
        help="fetch the CA Harbor publishes at /api/v2.0/systeminfo/getcert (needs --fingerprint)",
    )
    p.add_argument(
        "--fingerprint",
        action="append",
        default=[],
        metavar="FP",
        help="SHA-256 of the CA (colon hex, optional sha256: prefix); repeat for each CA "
        "during a rollover",
    )
    p.add_argument(
        "--connect",
        metavar="ADDR[:PORT]",
        help="dial this address instead of HOST (the certificate is still checked for HOST)",
    )
    p.add_argument(
        "--client-bundle",
        type=Path,
        metavar="DIR",
        help="folder from 'tlsprov issue NAME --client' for mutual TLS",
    )
    p.add_argument(
        "--targets",
        metavar="LIST",
        help="comma-separated: docker,containerd,podman,os-trust (default: the engines found "
        "under the root, plus the OS store)",
    )
    p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help="root (/)")
    p.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="backups and lock (ROOT/var/lib/tlsprov)"
    )
    p.add_argument("--timeout", type=float, default=10.0, metavar="S", help="network seconds (10)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Get the CA (pinned), plan the client files, apply them."""
    from tlsprov.cli.verify_cmd import parse_host_port
    from tlsprov.errors import InputError
    from tlsprov.lifecycle.trust import trust

    host, port = parse_host_port(args.target, 443)
    connect = parse_host_port(args.connect, port) if args.connect else None
    targets = None
    if args.targets is not None:
        targets = [t.strip() for t in args.targets.split(",") if t.strip()]
        if not targets:
            raise InputError("--targets is empty", hint="pass e.g. --targets docker,os-trust")
    outcome = trust(
        host,
        port,
        root=args.root,
        ca_file=args.ca,
        from_harbor=args.from_harbor,
        fingerprints=args.fingerprint,
        connect=connect,
        client_bundle=args.client_bundle,
        targets=targets,
        state_dir=args.state_dir,
        dry_run=args.dry_run,
        timeout=args.timeout,
    )
    for warning in (*outcome.warnings, *outcome.result.warnings):
        out.warn(warning)
    found = ", ".join(outcome.fingerprints)
    lines = [f"trusting {found} for {outcome.plan.context.registry}", *outcome.result.lines()]
    if outcome.restarts and outcome.plan.changed:
        verb = "would restart" if args.dry_run else "restarted"
        lines.append(f"{verb}: " + ", ".join(outcome.restarts))
    out.result(outcome.to_json(), lines)
    return 0
