"""``tlsprov inspect FILE``: describe every certificate in a PEM (or DER) file, with lint."""

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
        "inspect",
        help="describe the certificates in a PEM or DER file and lint them",
        description="Show names, validity, key, fingerprints and extensions of each certificate.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="certificate or chain (PEM or DER)")
    p.add_argument(
        "--host",
        metavar="NAME_OR_IP",
        help="also check that the first certificate covers this name or address",
    )
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the description of each certificate."""
    from tlsprov.pki.inspect import describe_file, format_description
    from tlsprov.pki.x509 import parse_identity

    if args.host is not None:
        parse_identity(args.host)
    described = describe_file(args.file, host=args.host)
    lines: list[str] = []
    for index, desc in enumerate(described):
        title = (
            f"certificate {index + 1} of {len(described)}" if len(described) > 1 else "certificate"
        )
        lines += format_description(desc, title=title)
    out.result({"command": "inspect", "file": str(args.file), "certificates": described}, lines)
    return 0
