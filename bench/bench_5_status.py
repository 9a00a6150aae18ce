"""Benchmark 5: ``tlsprov status`` over 1,000 / 10,000 / 50,000 managed certificates.

The state folders are generated directly: one ``live/<name>/meta.json`` per certificate,
written from :class:`~tlsprov.lifecycle.lineage.LineageMeta` the way the state store writes it,
and nothing else (status reads only ``meta.json``; a run that shows fewer certificates than
were generated fails the benchmark). Each run is a whole
``tlsprov status --state-dir DIR --json`` process; sizes are interleaved, the page cache is warm
after the first round.

Linear growth is judged on the marginal cost per certificate: from the first size to the second
and from the second to the third. Their ratio must stay at most 1.5 (noise allowance).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import Tools, find_tools, rotate, run_measured, summarize

LINEAR_LIMIT = 1.5
TEN_K_LIMIT_S = 2.0


def make_state(folder: Path, count: int) -> Path:
    """A state folder with ``count`` lineages (only their ``meta.json``); reused when complete."""
    from tlsprov.lifecycle.lineage import LineageMeta
    from tlsprov.pki.bundleio import bundle_basename

    live = folder / "live"
    done = folder / ".complete"
    if done.exists():
        return folder
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for i in range(count):
        name = f"host{i:06d}.harbor.test"
        meta = LineageMeta(
            name=name,
            provider="selfsigned" if i % 2 else "letsencrypt",
            names=(name, f"alt{i}.harbor.test"),
            not_before=(now - dt.timedelta(days=i % 90)).isoformat(),
            not_after=(now + dt.timedelta(days=90 - i % 90)).isoformat(),
            serial=format(i * 7919 + 1, "x"),
            fingerprint_sha256=format(i, "064x"),
            version=1 + i % 3,
            targets=("harbor", "docker"),
            issued_at=now.isoformat(),
            last_action="renew",
            last_outcome="ok",
            last_action_at=now.isoformat(),
        )
        lineage = live / bundle_basename(name)
        lineage.mkdir(parents=True, mode=0o700)
        data = json.dumps(meta.to_json(), indent=2, sort_keys=True) + "\n"
        (lineage / "meta.json").write_text(data, encoding="utf-8")
    done.write_text(str(count), encoding="utf-8")
    return folder


def _check_files(folder: Path, count: int) -> None:
    """Every lineage folder holds only ``meta.json`` (so status can read nothing else)."""
    for entry in os.scandir(folder / "live"):
        if os.listdir(entry.path) != ["meta.json"]:
            raise RuntimeError(f"{entry.path} holds more than meta.json")
    if len(os.listdir(folder / "live")) != count:
        raise RuntimeError(f"{folder} does not hold {count} lineages")


def run(
    runs: int = 10,
    *,
    workdir: Path,
    sizes: Sequence[int] = (1000, 10000, 50000),
    tools: Tools | None = None,
) -> dict[str, Any]:
    """Median ``tlsprov status`` time per size, the 10,000 limit and the linearity check."""
    tools = tools or find_tools()
    folders = {n: make_state(workdir / f"b5-state-{n}", n) for n in sizes}
    for n, folder in folders.items():
        _check_files(folder, n)
    labels = [str(n) for n in sizes]
    times: dict[str, list[float]] = {k: [] for k in labels}
    peaks: dict[str, list[int]] = {k: [] for k in labels}
    for round_no in range(runs):
        for label in rotate(labels, round_no):
            n = int(label)
            argv = [*tools.tlsprov, "status", "--state-dir", str(folders[n]), "--json"]
            sample = run_measured(argv, timeout=300)
            shown = len(json.loads(sample.stdout)["certificates"])
            if shown != n:
                raise RuntimeError(f"tlsprov status showed {shown} of {n} certificates")
            times[label].append(sample.seconds)
            peaks[label].append(sample.peak_rss_kib)
    stats = {f"{n:,} certificates": summarize(times[str(n)], peaks[str(n)]) for n in sizes}
    medians = [stats[f"{n:,} certificates"]["median_s"] for n in sizes]
    targets: list[dict[str, Any]] = []
    if 10000 in sizes:
        t10 = medians[list(sizes).index(10000)]
        targets.append(
            {
                "what": "status over 10,000 certificates",
                "measured": f"{t10:.2f} s",
                "target": f"< {TEN_K_LIMIT_S:g} s",
                "met": t10 < TEN_K_LIMIT_S,
                "note": "",
            }
        )
    if len(sizes) >= 3:
        slope_a = (medians[1] - medians[0]) / (sizes[1] - sizes[0])
        slope_b = (medians[2] - medians[1]) / (sizes[2] - sizes[1])
        ratio = slope_b / slope_a if slope_a > 0 else float("inf")
        targets.append(
            {
                "what": "linear growth (marginal cost per certificate, "
                f"{sizes[1]:,}→{sizes[2]:,} vs {sizes[0]:,}→{sizes[1]:,})",
                "measured": f"{ratio:.2f}× ({slope_b * 1e6:.0f} vs {slope_a * 1e6:.0f} µs)",
                "target": f"≤ {LINEAR_LIMIT:g}×",
                "met": ratio <= LINEAR_LIMIT,
                "note": "",
            }
        )
    else:
        targets.append(
            {
                "what": "linear growth",
                "measured": None,
                "target": f"≤ {LINEAR_LIMIT:g}×",
                "met": None,
                "note": "needs three sizes; not run in smoke mode",
            }
        )
    return {
        "bench": 5,
        "title": "tlsprov status over many managed certificates",
        "runs": runs,
        "measurements": stats,
        "targets": targets,
    }
