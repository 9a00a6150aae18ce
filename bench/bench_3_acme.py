"""Benchmark 3: ACME issuance wall time over HTTP-01, tlsprov against certbot standalone.

Both run as whole processes against the same Pebble (no validation delay, no authorization
reuse), for the same two names and an ECDSA P-256 certificate key, each with a fresh account
(so both register, order, answer HTTP-01 on ``127.0.0.1:<httpPort>``, finalize and download),
interleaved round after round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _common import Tools, find_tools, fresh_dir, ratio_target, rotate, run_measured, summarize
from _pebble import AcmeServer, acme_server

NAMES = ("harbor.test", "www.harbor.test")


def tlsprov_argv(tools: Tools, server: AcmeServer, folder: Path) -> list[str]:
    """``tlsprov issue`` with the letsencrypt provider against ``server``."""
    return [
        *tools.tlsprov,
        "issue",
        NAMES[0],
        *(arg for name in NAMES[1:] for arg in ("--alt-name", name)),
        "--provider",
        "letsencrypt",
        "--directory",
        server.directory,
        "--ca-bundle",
        str(server.listener_ca),
        "--agree-tos",
        "--account-dir",
        str(folder / "account"),
        "--http-address",
        "127.0.0.1",
        "--http-port",
        str(server.http_port),
        "--key-type",
        "ec256",
        "--out",
        str(folder / "out"),
    ]


def certbot_argv(certbot: str, server: AcmeServer, folder: Path) -> list[str]:
    """``certbot certonly --standalone`` against ``server``, everything kept in ``folder``."""
    return [
        certbot,
        "certonly",
        "--standalone",
        "--server",
        server.directory,
        "--http-01-address",
        "127.0.0.1",
        "--http-01-port",
        str(server.http_port),
        "--non-interactive",
        "--agree-tos",
        "--register-unsafely-without-email",
        *(arg for name in NAMES for arg in ("-d", name)),
        "--key-type",
        "ecdsa",
        "--elliptic-curve",
        "secp256r1",
        "--config-dir",
        str(folder / "config"),
        "--work-dir",
        str(folder / "work"),
        "--logs-dir",
        str(folder / "logs"),
    ]


def run(runs: int = 10, *, workdir: Path, tools: Tools | None = None) -> dict[str, Any]:
    """Median wall time of each client over ``runs`` interleaved rounds, and their ratio."""
    tools = tools or find_tools()
    variants = ["tlsprov", "certbot"] if tools.certbot else ["tlsprov"]
    times: dict[str, list[float]] = {v: [] for v in variants}
    peaks: dict[str, list[int]] = {v: [] for v in variants}
    with acme_server(workdir / "b3-pebble") as server:
        env = {"REQUESTS_CA_BUNDLE": str(server.listener_ca)}
        for round_no in range(runs):
            for variant in rotate(variants, round_no):
                folder = fresh_dir(workdir / f"b3-{variant}")
                if variant == "tlsprov":
                    argv = tlsprov_argv(tools, server, folder)
                else:
                    assert tools.certbot is not None
                    argv = certbot_argv(tools.certbot, server, folder)
                sample = run_measured(argv, env=env, timeout=120)
                times[variant].append(sample.seconds)
                peaks[variant].append(sample.peak_rss_kib)
    stats = {v: summarize(times[v], peaks[v]) for v in variants}
    ratio = stats["tlsprov"]["median_s"] / stats["certbot"]["median_s"] if tools.certbot else None
    measurements = {"tlsprov issue --provider letsencrypt": stats["tlsprov"]}
    if tools.certbot:
        measurements["certbot certonly --standalone"] = stats["certbot"]
    return {
        "bench": 3,
        "title": "ACME issuance, HTTP-01, 2 names, ec256, on Pebble",
        "runs": runs,
        "measurements": measurements,
        "targets": [ratio_target("tlsprov / certbot wall time", ratio, 0.3)],
    }
