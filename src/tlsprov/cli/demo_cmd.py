"""``tlsprov demo``: a private CA, a Harbor-style certificate and a real TLS check, in a sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.models import KeyType

    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="issue a certificate in a sandbox and prove it with a real TLS handshake",
        description="Create (or reuse) a private CA in a sandbox folder, issue a certificate for "
        "harbor.test and 127.0.0.1, write it the way Harbor wants it, serve it on 127.0.0.1 and "
        "connect trusting only ca.crt. Touches nothing outside the sandbox.",
    )
    p.add_argument(
        "--dir",
        type=Path,
        default=Path("tlsprov-demo"),
        help="sandbox folder (default: ./tlsprov-demo; an existing CA there is reused)",
    )
    p.add_argument(
        "--key-type",
        choices=[k.value for k in KeyType],
        default=None,
        help="key type for a new CA and the certificate (default: the provider's, rsa4096)",
    )
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """Run the demo and print what it did and where."""
    from tlsprov.demo import run_demo

    report = run_demo(args.dir, key_type=args.key_type, log=out.info)
    cert, check, files = report["certificate"], report["check"], report["files"]
    ca_state = "reused" if report["ca"]["reused"] else "created"
    lines = [
        f"sandbox:      {report['sandbox']}",
        f"CA:           {report['ca']['dir']} ({ca_state}) {cert['issuer']}",
        f"certificate:  {cert['subject']}, SAN {', '.join(cert['san'])}, {cert['key']}, "
        f"valid until {cert['not_after']}",
        f"files:        {files['key']} (0600), {files['crt']}, {files['cert']}, {files['ca']}",
        f"TLS check:    {check['server_name']} at {check['address']} trusting only ca.crt: "
        f"{check['tls_version']} {check['cipher']}, {check['http']}",
        f"control:      system trust only -> refused ({check['without_ca']})",
        f"control:      as wrong.test -> refused ({check['wrong_host']})",
        "demo OK: the server's certificate verifies strictly with the private CA",
    ]
    out.result(report, lines)
    return 0
