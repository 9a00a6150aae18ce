"""Benchmark 4: start-up time and memory of ``tlsprov --help`` and ``import tlsprov``.

Compared with ``certbot --help``; all three are whole processes of the same interpreter,
interleaved round after round.
"""

from __future__ import annotations

from typing import Any

from _common import NOT_RUN_SMOKE, Tools, find_tools, ratio_target, rotate, run_measured, summarize

PEAK_LIMIT_MIB = 35.0


def run(runs: int = 20, *, tools: Tools | None = None) -> dict[str, Any]:
    """Medians and peaks of each command; both ratios to certbot and the memory limit."""
    tools = tools or find_tools()
    commands = {
        "tlsprov --help": [*tools.tlsprov, "--help"],
        "python -c 'import tlsprov'": [tools.python, "-c", "import tlsprov"],
    }
    if tools.certbot:
        commands["certbot --help"] = [tools.certbot, "--help"]
    times: dict[str, list[float]] = {k: [] for k in commands}
    peaks: dict[str, list[int]] = {k: [] for k in commands}
    for round_no in range(runs):
        for label in rotate(list(commands), round_no):
            sample = run_measured(commands[label], timeout=60)
            times[label].append(sample.seconds)
            peaks[label].append(sample.peak_rss_kib)
    stats = {k: summarize(times[k], peaks[k]) for k in commands}
    certbot = stats["certbot --help"]["median_s"] if tools.certbot else None
    targets = []
    for label in ("tlsprov --help", "python -c 'import tlsprov'"):
        ratio = stats[label]["median_s"] / certbot if certbot else None
        targets.append(ratio_target(f"{label} / certbot --help", ratio, 0.45))
        peak = stats[label]["peak_rss_mib"]
        targets.append(
            {
                "what": f"{label} peak memory",
                "measured": f"{peak:.1f} MiB",
                "target": f"< {PEAK_LIMIT_MIB:g} MiB",
                "met": peak < PEAK_LIMIT_MIB,
                "note": "",
            }
        )
    if not tools.certbot:
        for row in targets:
            if row["met"] is None:
                row["note"] = f"certbot {NOT_RUN_SMOKE}"
    return {
        "bench": 4,
        "title": "start-up",
        "runs": runs,
        "measurements": stats,
        "targets": targets,
    }
