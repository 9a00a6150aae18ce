"""Benchmark 4: start-up time and memory of ``tlsprov --help``, ``import tlsprov`` and
``tlsprov status --json`` on one certificate.

Compared with ``certbot --help`` and, for status, ``certbot certificates`` over one lineage that
certbot obtained from the bench's own Pebble (made once, before the timer). tlsprov's state
folder holds one lineage written the way the state store writes it. Every command is a whole
process of the same interpreter, interleaved round after round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from _common import NOT_RUN_SMOKE, Tools, find_tools, ratio_target, rotate, run_measured, summarize

PEAK_LIMIT_MIB = 20.0
HELP_RATIO = 0.25
IMPORT_RATIO = 0.2
STATUS_RATIO = 0.35


def _certbot_lineage(certbot: str, workdir: Path) -> list[str]:
    """One certbot lineage from Pebble; the ``certbot certificates`` command that lists it."""
    from _common import fresh_dir
    from _pebble import acme_server
    from bench_3_acme import certbot_argv

    folder = fresh_dir(workdir / "b4-certbot")
    with acme_server(workdir / "b4-pebble") as server:
        env = {"REQUESTS_CA_BUNDLE": str(server.listener_ca)}
        sample = run_measured(certbot_argv(certbot, server, folder), env=env, timeout=120)
        del sample
    live = folder / "config" / "live"
    if not live.is_dir() or not any(live.iterdir()):
        raise RuntimeError(f"certbot made no lineage in {live}")
    return [
        certbot, "certificates",
        "--config-dir", str(folder / "config"), "--work-dir", str(folder / "work"),
        "--logs-dir", str(folder / "logs"),
    ]  # fmt: skip


def _memory_row(label: str, peak: float) -> dict[str, Any]:
    return {
        "what": f"{label} peak memory",
        "measured": f"{peak:.1f} MiB",
        "target": f"≤ {PEAK_LIMIT_MIB:g} MiB",
        "met": peak <= PEAK_LIMIT_MIB,
        "note": "",
    }


def run(runs: int = 20, *, workdir: Path, tools: Tools | None = None) -> dict[str, Any]:
    """Medians and peaks of each command; the ratios to certbot and the memory limit."""
    from bench_5_status import make_state

    tools = tools or find_tools()
    state = make_state(workdir / "b4-state-1", 1)
    commands = {
        "tlsprov --help": [*tools.tlsprov, "--help"],
        "python -c 'import tlsprov'": [tools.python, "-c", "import tlsprov"],
        "tlsprov status --json (1 certificate)": [
            *tools.tlsprov, "status", "--json", "--state-dir", str(state),
        ],
    }  # fmt: skip
    if tools.certbot:
        commands["certbot --help"] = [tools.certbot, "--help"]
        commands["certbot certificates (1 certificate)"] = _certbot_lineage(tools.certbot, workdir)
    times: dict[str, list[float]] = {k: [] for k in commands}
    peaks: dict[str, list[int]] = {k: [] for k in commands}
    for round_no in range(runs):
        for label in rotate(list(commands), round_no):
            sample = run_measured(commands[label], timeout=60)
            times[label].append(sample.seconds)
            peaks[label].append(sample.peak_rss_kib)
    stats = {k: summarize(times[k], peaks[k]) for k in commands}

    def median(label: str) -> float | None:
        return stats[label]["median_s"] if label in stats else None

    def ratio(label: str, base: str) -> float | None:
        b = median(base)
        return stats[label]["median_s"] / b if b else None

    targets = [
        ratio_target("tlsprov --help / certbot --help", ratio("tlsprov --help", "certbot --help"),
                     HELP_RATIO),
        _memory_row("tlsprov --help", stats["tlsprov --help"]["peak_rss_mib"]),
        ratio_target("python -c 'import tlsprov' / certbot --help",
                     ratio("python -c 'import tlsprov'", "certbot --help"), IMPORT_RATIO),
        ratio_target(
            "tlsprov status --json / certbot certificates (1 certificate)",
            ratio("tlsprov status --json (1 certificate)", "certbot certificates (1 certificate)"),
            STATUS_RATIO,
        ),
    ]  # fmt: skip
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
