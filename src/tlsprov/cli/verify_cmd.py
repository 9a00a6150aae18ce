"""``tlsprov verify HOST[:PORT] --ca FILE``: a strict TLS check of a live registry endpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._numbers import MAX_DAYS, seconds, whole
from tlsprov.cli._output import Output

__all__ = ["add_parser", "parse_host_port", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = sub.add_parser(
        "verify",
        help="check a registry's TLS trusting only the given CA, and probe GET /v2/",
        description="Make a TLS handshake trusting only --ca, check the certificate's names, "
        "serverAuth and days left, and ask GET /v2/ (200 or 401 expected). Exit 0 only when "
        "every check holds.",
    )
    p.add_argument("target", metavar="HOST[:PORT]", help="registry name, e.g. harbor.test:8443")
    p.add_argument("--ca", required=True, type=Path, metavar="FILE", help="the CA to trust")
    p.add_argument(
        "--connect",
        metavar="ADDR[:PORT]",
        help="dial this address instead of HOST (the certificate is still checked for HOST)",
    )
    p.add_argument(
        "--timeout", type=seconds(zero=False), default=10.0, metavar="S", help="seconds (10)"
    )
    p.add_argument(
        "--min-days",
        type=whole(0, MAX_DAYS, "days"),
        default=14,
        metavar="N",
        help="days left needed (14)",
    )
    p.add_argument("--no-v2", action="store_true", help="skip the GET /v2/ probe")
    add_json(p)


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """Split ``host``, ``host:port``, ``[v6]:port``, ``[v6]`` or a bare IPv6 address.

    Raises:
        InputError: an empty host or a bad port.
    """
    from tlsprov.errors import InputError

    raw = text.strip()
    host, port_text = raw, ""
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0 or (raw[end + 1 :] and not raw[end + 1 :].startswith(":")):
            raise InputError(f"'{text}' is not HOST[:PORT]", hint="write IPv6 as [::1]:8443")
        host, port_text = raw[1:end], raw[end + 2 :]
    elif raw.count(":") == 1:
        host, port_text = raw.split(":")
    if not host:
        raise InputError(f"'{text}' has no host", hint="pass HOST[:PORT]")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InputError(f"'{port_text}' is not a valid port", hint="use 1 to 65535")
    return host, int(port_text)


def run(args: argparse.Namespace, out: Output) -> int:
    """Verify and print a verdict line plus every check."""
    from tlsprov.errors import InputError
    from tlsprov.pki.verify import verify_endpoint

    host, port = parse_host_port(args.target, 443)
    connect = parse_host_port(args.connect, port) if args.connect else None
    try:
        ca_pem = args.ca.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the CA file {args.ca}: {exc.strerror}") from exc
    report = verify_endpoint(
        host,
        port,
        ca_pem=ca_pem,
        connect=connect,
        timeout=args.timeout,
        probe_v2=not args.no_v2,
        min_days=args.min_days,
    )
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    via = f" via {report.connect[0]}:{report.connect[1]}" if connect else ""
    if report.ok:
        facts = [f"{report.days_left} days left"] if report.days_left is not None else []
        if report.http_status is not None:
            facts.append(f"/v2/ answered {report.http_status}")
        verdict = f"OK: {shown}{via} is trusted through the given CA ({', '.join(facts)})"
    else:
        verdict = f"FAILED: {shown}{via}: {report.failed[0].detail}"
    lines = [verdict]
    lines += [f"  {'ok' if c.ok else 'FAIL':<4} {c.name:<12} {c.detail}" for c in report.checks]
    if report.subject:
        lines.append(f"  served certificate: {report.subject}; SANs: {', '.join(report.sans)}")
    out.result(report.to_json(), lines)
    return 0 if report.ok else 1
