"""Benchmark 1: Harbor's openssl procedure against ``tlsprov ca init`` + ``tlsprov issue``.

Three ways to make the same files (a CA and a server certificate, both RSA-4096, SHA-512, the
names ``harbor.test``, ``harbor`` and ``hostname``, written to disk):

- ``openssl``: the guide's five commands (genrsa, req -x509, genrsa, req -new, x509 -req with
  the ``v3.ext`` file written in between). The guide's sixth command, which copies ``.crt`` to
  ``.cert``, is left out (that favours openssl by a few milliseconds).
- ``cli``: ``tlsprov ca init`` then ``tlsprov issue``, two whole processes.
- ``library``: the same work through the library API inside one process (the timer starts after
  the imports).

RSA key generation dominates and varies a lot, so the three run interleaved, round after round,
with the order rotated each round.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    Tools,
    find_tools,
    fresh_dir,
    ratio_target,
    rotate,
    run_measured,
    run_worker,
    summarize,
)

NAMES = ("harbor.test", "harbor", "hostname")
CA_SUBJECT = "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=MyPersonal Root CA"
SERVER_SUBJECT = "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=harbor.test"
V3_EXT = """authorityKeyIdentifier=keyid,issuer
basicConstraints=CA:FALSE
keyUsage = digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment
extendedKeyUsage = serverAuth
subjectAltName = @alt_names

[alt_names]
DNS.1=harbor.test
DNS.2=harbor
DNS.3=hostname
"""
VARIANTS = ("openssl", "cli", "library")


def openssl_procedure(folder: Path, bits: int = 4096) -> tuple[float, int]:
    """The guide's commands in ``folder``; (seconds, peak RSS KiB)."""
    h = NAMES[0]
    start = time.perf_counter()
    peak = 0
    steps = [  # the guide's commands, verbatim but for the names
        f"openssl genrsa -out ca.key {bits}",
        "openssl req -x509 -new -nodes -sha512 -days 3650"
        f" -subj '{CA_SUBJECT}' -key ca.key -out ca.crt",
        f"openssl genrsa -out {h}.key {bits}",
        f"openssl req -sha512 -new -subj '{SERVER_SUBJECT}' -key {h}.key -out {h}.csr",
        "openssl x509 -req -sha512 -days 3650 -extfile v3.ext -CA ca.crt -CAkey ca.key"
        f" -CAcreateserial -in {h}.csr -out {h}.crt",
    ]
    for index, command in enumerate(steps):
        if index == 4:
            (folder / "v3.ext").write_text(V3_EXT, encoding="utf-8")
        sample = run_measured(shlex.split(command), cwd=folder, timeout=120)
        peak = max(peak, sample.peak_rss_kib)
    return time.perf_counter() - start, peak


def _key_args(bits: int) -> list[str]:
    return [] if bits == 4096 else ["--key-type", f"rsa{bits}"]


def cli_procedure(tools: Tools, folder: Path, bits: int = 4096) -> tuple[float, int]:
    """``tlsprov ca init`` + ``tlsprov issue`` (RSA-4096 defaults); (seconds, peak RSS KiB)."""
    ca_dir = folder / "ca"
    init = run_measured(
        [
            *tools.tlsprov,
            "ca",
            "init",
            "--ca-dir",
            str(ca_dir),
            "--subject",
            CA_SUBJECT,
            *_key_args(bits),
        ],
        timeout=120,
    )
    alt = [arg for name in NAMES[1:] for arg in ("--alt-name", name)]
    issue = run_measured(
        [
            *tools.tlsprov,
            "issue",
            NAMES[0],
            *alt,
            "--ca-dir",
            str(ca_dir),
            "--out",
            str(folder / "out"),
            *_key_args(bits),
        ],
        timeout=120,
    )
    return init.seconds + issue.seconds, max(init.peak_rss_kib, issue.peak_rss_kib)


def worker(args: dict[str, Any]) -> dict[str, Any]:
    """In-process: the library doing what ``ca init`` + ``issue`` do."""
    import tlsprov
    from tlsprov.plugins.registry import default_registry

    default_registry().providers()  # plugin discovery happens before the timer, like imports
    folder = Path(args["folder"])
    start = time.perf_counter()
    key_type = f"rsa{args['bits']}"
    provider = tlsprov.get_provider(
        "selfsigned", ca_dir=str(folder / "ca"), subject=CA_SUBJECT, key_type=key_type
    )
    assert provider.ca_manager is not None
    provider.ca_manager.init_ca()
    bundle = provider.issue(tlsprov.make_request(NAMES))
    tlsprov.write_bundle(folder / "out", NAMES[0], bundle)
    return {"seconds": time.perf_counter() - start}


def run(
    runs: int = 15, *, workdir: Path, bits: int = 4096, tools: Tools | None = None
) -> dict[str, Any]:
    """Interleave the three variants ``runs`` times; medians, peaks and the two ratios.

    ``bits`` other than 4096 (the smoke test uses 2048) changes every RSA key of all three.
    """
    tools = tools or find_tools()
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    peaks: dict[str, list[int]] = {v: [] for v in VARIANTS}
    for round_no in range(runs):
        for variant in rotate(VARIANTS, round_no):
            folder = fresh_dir(workdir / f"b1-{variant}")
            if variant == "openssl":
                seconds, peak = openssl_procedure(folder, bits)
            elif variant == "cli":
                seconds, peak = cli_procedure(tools, folder, bits)
            else:
                data, sample = run_worker(
                    tools, "bench_1_harbor", {"folder": str(folder), "bits": bits}
                )
                seconds, peak = data["seconds"], sample.peak_rss_kib
            times[variant].append(seconds)
            peaks[variant].append(peak)
    stats = {v: summarize(times[v], peaks[v]) for v in VARIANTS}
    cli, ossl, lib = (stats[v]["median_s"] for v in ("cli", "openssl", "library"))
    return {
        "bench": 1,
        "title": f"CA + server certificate, RSA-{bits}, files written",
        "runs": runs,
        "measurements": {
            "openssl procedure (5 commands)": stats["openssl"],
            "tlsprov ca init + issue (CLI)": stats["cli"],
            "tlsprov library, in-process": stats["library"],
        },
        "targets": [
            ratio_target("CLI / openssl procedure", cli / ossl, 0.45),
            ratio_target("CLI / library in-process", cli / lib, 1.2),
        ],
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    print(json.dumps(worker(json.loads(sys.argv[2]))))
