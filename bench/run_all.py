"""Run the six benchmarks and write the results into ``bench/README.md``.

    python bench/run_all.py                 # full counts (what ``bench/run`` does)
    python bench/run_all.py --smoke         # tiny sizes, no certbot: a quick check
    python bench/run_all.py --only 2,5 --runs 3

``BENCH_RUNS`` in the environment sets the runs of every benchmark like ``--runs``. The
results also go to ``bench/results/latest.json``. The README keeps its prose; only the block
between the two result markers is replaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bench_1_harbor
import bench_2_bulk
import bench_3_acme
import bench_4_startup
import bench_5_status
import bench_6_renewal
from _common import BENCH_DIR, GNU_TIME, Tools, find_tools

START = "<!-- bench-results:start -->"
END = "<!-- bench-results:end -->"

#: Full-run settings per benchmark (runs first); the smoke settings follow.
FULL: dict[int, dict[str, Any]] = {
    1: {"runs": 15},
    2: {"runs": 10, "ec_count": 3000, "rsa_count": 300},
    3: {"runs": 10},
    4: {"runs": 20},
    5: {"runs": 10, "sizes": (1000, 10000, 50000)},
    6: {"runs": 5},
}
SMOKE: dict[int, dict[str, Any]] = {
    1: {"runs": 1, "bits": 2048},
    2: {"runs": 1, "ec_count": 20, "rsa_count": 2},
    3: {"runs": 1},
    4: {"runs": 1},
    5: {"runs": 1, "sizes": (50,)},
    6: {"runs": 1},
}


def _call(number: int, settings: dict[str, Any], workdir: Path, tools: Tools) -> dict[str, Any]:
    runners: dict[int, Callable[..., dict[str, Any]]] = {
        1: bench_1_harbor.run,
        2: bench_2_bulk.run,
        3: bench_3_acme.run,
        4: bench_4_startup.run,
        5: bench_5_status.run,
        6: bench_6_renewal.run,
    }
    extra = {"workdir": workdir} if number in (1, 3, 4, 5, 6) else {}
    return runners[number](**settings, **extra, tools=tools)


def run_benchmarks(
    *,
    smoke: bool,
    workdir: Path,
    only: Sequence[int] = (1, 2, 3, 4, 5, 6),
    runs: int | None = None,
    tools: Tools | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the chosen benchmarks; in smoke mode with tiny sizes and without certbot."""
    tools = tools or find_tools()
    if smoke:
        tools = dataclasses.replace(tools, certbot=None)
    results = []
    for number in only:
        settings = dict((SMOKE if smoke else FULL)[number])
        if runs is not None:
            settings["runs"] = runs
        if progress:
            progress(f"benchmark {number}: {settings}")
        results.append(_call(number, settings, workdir, tools))
    return results


def _version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "not installed"
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"


def environment(tools: Tools) -> dict[str, str]:
    """What the numbers were measured on."""
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    load = os.getloadavg()
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "load average at start": f"{load[0]:.2f}",
        "python": platform.python_version(),
        "openssl": " ".join(_version(["openssl", "version"]).split()[:2]),
        "tlsprov": pkg("tlsprov"),
        "cryptography": pkg("cryptography"),
        "certbot": pkg("certbot") if tools.certbot else "not run",
        "trustme": pkg("trustme") if tools.has_trustme else "not installed",
        "peak memory": "GNU time %M"
        if os.access(GNU_TIME, os.X_OK)
        else "getrusage(RUSAGE_CHILDREN): upper bound",
    }


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:,.0f}/s" if value >= 10 else f"{value:.1f}/s"


def render(results: list[dict[str, Any]], env: dict[str, str], command: str) -> str:
    """The Markdown block between the README markers."""
    out = [
        f"Measured {env['date']} with `{command}`.",
        "",
        *(f"- {key}: {value}" for key, value in env.items() if key != "date"),
        "",
        "### Targets",
        "",
        "| # | what | measured | target | met |",
        "|---|---|---|---|---|",
    ]
    for result in results:
        for t in result["targets"]:
            met = {True: "yes", False: "**no**", None: "not run"}[t["met"]]
            measured = t["measured"] or "-"
            note = f" ({t['note']})" if t.get("note") else ""
            out.append(
                f"| {result['bench']} | {t['what']} | {measured}{note} | {t['target']} | {met} |"
            )
    for result in results:
        out += [
            "",
            f"### {result['bench']}. {result['title']} ({result['runs']} runs)",
            "",
            "| variant | median | min – max | peak memory |",
            "|---|---|---|---|",
        ]
        for label, m in result["measurements"].items():
            unit = "/s" if "median_per_s" in m else "s"
            key = "per_s" if unit == "/s" else "s"
            extra = f" ({m['certs_per_run']} per run)" if "certs_per_run" in m else ""
            out.append(
                f"| {label}{extra} | {_fmt(m[f'median_{key}'], unit)} | "
                f"{_fmt(m[f'min_{key}'], unit)} – {_fmt(m[f'max_{key}'], unit)} | "
                + (f"{m['peak_rss_mib']:.1f} MiB |" if "peak_rss_mib" in m else "- |")
            )
    unmet = [
        f"{r['bench']}: {t['what']}" for r in results for t in r["targets"] if t["met"] is False
    ]
    out += ["", "Targets not met: " + ("; ".join(unmet) if unmet else "none") + "."]
    return "\n".join(out)


def update_readme(path: Path, block: str) -> None:
    """Replace the text between the result markers of ``path`` with ``block``."""
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path} lacks the result markers {START} / {END}")
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="run tlsprov's benchmarks")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no certbot")
    parser.add_argument("--runs", type=int, default=None, help="runs of every benchmark")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="comma-separated benchmark numbers")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--readme", type=Path, default=BENCH_DIR / "README.md")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument("--json", type=Path, default=BENCH_DIR / "results" / "latest.json")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else int(os.environ.get("BENCH_RUNS", 0)) or None
    only = [int(part) for part in args.only.split(",") if part.strip()]
    tools = find_tools()
    env = environment(tools if not args.smoke else dataclasses.replace(tools, certbot=None))
    with tempfile.TemporaryDirectory(prefix="tlsprov-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        results = run_benchmarks(
            smoke=args.smoke,
            workdir=workdir,
            only=only,
            runs=runs,
            tools=tools,
            progress=lambda msg: print(msg, file=sys.stderr, flush=True),
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"environment": env, "results": results}, indent=2) + "\n", encoding="utf-8"
    )
    command = "bench/run" + (" --smoke" if args.smoke else "")
    command += f" --runs {runs}" if runs else ""
    block = render(results, env, command)
    if not args.no_readme:
        update_readme(args.readme, block)
    print(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
