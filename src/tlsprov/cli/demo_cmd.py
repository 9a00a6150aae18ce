"""``tlsprov demo``: provision a sandbox Harbor end to end and verify it over real TLS."""

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
        "demo",
        help="provision a sandbox Harbor end to end and verify it over real TLS",
        description="Build a sandbox host (Harbor install folder, stand-ins for docker and "
        "systemctl), provision it with the private CA (harbor.yml, /data/cert, certs.d, OS "
        "trust, prepare and compose), serve the result on 127.0.0.1 and verify it. Touches "
        "nothing outside the sandbox folder.",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=Path("tlsprov-demo"),
        help="sandbox folder (default: ./tlsprov-demo; a second run reuses it)",
    )
    p.add_argument(
        "--key-type",
        type=_key_type,
        metavar="TYPE",
        default=None,
        help="key type for a new CA and the certificate, as in 'tlsprov issue' (default: the "
        "provider's, rsa4096)",
    )
    p.add_argument(
        "--no-nginx", action="store_true", help="serve with Python's TLS server, not nginx"
    )
    add_json(p)


def _key_type(text: str) -> str:
    from tlsprov.errors import InputError
    from tlsprov.models import KeyType  # here, not at parser build: keeps --help light

    try:
        return KeyType.parse(text).value
    except InputError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the demo and print what it did and where."""
    from tlsprov.demo import run_demo

    report = run_demo(args.dir, key_type=args.key_type, log=out.info, use_nginx=not args.no_nginx)
    cert, verify = report["certificate"], report["verify"]
    what = "issued a new certificate" if report["issued"] else "kept the certificate"
    lines = [
        f"sandbox:     {report['sandbox']} (host root {report['root']})",
        f"config:      {report['config']}",
        f"CA:          {report['ca_dir']} - {cert['issuer']}",
        f"certificate: {what} ({report['reason']}): {cert['subject']}, "
        f"SAN {', '.join(cert['san'])}, {cert['key']}, valid until {cert['not_after']}",
    ]
    if report["changed"]:
        lines += [f"  wrote {path} (under the host root)" for path in report["files"]]
    else:
        lines.append("  installation already up to date: nothing changed")
    lines += [f"  ran (recorded) {cmd}" for cmd in report["commands"]]
    lines += [f"proxy:       {report['server']} on {verify['connect']}"]
    lines += [
        f"verify:      {'ok' if c['ok'] else 'FAILED'} {c['name']}: {c['detail']}"
        for c in verify["checks"]
    ]
    lines += [
        f"control:     system trust only -> refused ({report['without_ca']})",
        f"control:     as wrong.test -> refused ({report['wrong_host']})",
        "demo OK: a sandbox Harbor was provisioned and verified over a real TLS connection",
    ]
    out.result(report, lines)
    return 0
