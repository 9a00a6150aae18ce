"""Benchmark 2: bulk leaf issuance from one CA, certificates per second, against trustme.

Per key type (ec256, rsa2048) six variants, each in a fresh interpreter, interleaved:

- ``trustme``: ``CA(key_type=...)`` then ``ca.issue_cert(name, key_type=...)`` in memory
  (ECDSA P-256 or RSA-2048 for both the CA and the leaves).
- ``tlsprov``: a selfsigned provider with a CA of the same key type, then
  ``provider.issue(make_request([name], key_type=...))`` in memory.
- ``tlsprov+files``: the same, plus ``write_bundle`` of each certificate to its own folder.
- ``tlsprov sets``: ``provider.issue_all`` of ten requests at a time (the size of Harbor's
  internal TLS set), which generates RSA keys side by side on the usable cores. It is timed in
  wall seconds and compared with trustme's wall seconds of the same round: CPU seconds would
  add the threads up. This is reported beside the target, not as it: the target is the
  one-certificate-at-a-time rate.
- ``trustme (keys premade)`` and ``tlsprov (keys premade)``: the in-memory loops with key
  generation taken out: both get keys from the same kind of pool made before the timer (100
  keys, used in turn). This shows what each library's own work costs per leaf, which for
  RSA is hidden under the key generation; reported beside the target, not as it.

Only the issuing loop is timed (CA creation, imports and one warm-up issue per variant are
not); ``tlsprov+files`` issues a fifth of the count. The target compares the median of the
per-round ratios (both variants run side by side in every round). The in-memory variants are
timed in CPU seconds of the worker (``time.process_time``: both are
single-threaded CPU work, so other load on a shared machine does not skew the ratio);
``tlsprov+files`` in wall seconds, since it waits for fsync. ``provider.issue`` includes the
bundle check every provider's result gets (key, chain, names, dates, usage, lint); for what the
provider made in the same process it takes the objects as made (``tlsprov.pki.made``).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import NOT_RUN_SMOKE, Tools, find_tools, rotate, run_worker, summarize

KEY_TYPES = ("ec256", "rsa2048")
#: tlsprov's rate at least this many times trustme's, per key type
TARGET = {"ec256": 1.1, "rsa2048": 1.0}
VARIANTS = (
    "trustme", "tlsprov", "tlsprov+files", "tlsprov sets",
    "trustme (keys premade)", "tlsprov (keys premade)",
)  # fmt: skip
SET_SIZE = 10
POOL = 100  # premade keys, more than any per-object table in tlsprov holds


def _premade_keys(key_type: str) -> None:
    """Make ``cryptography``'s key generation hand out keys from a pool made now."""
    import itertools

    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if key_type == "rsa2048":
        pool = itertools.cycle([rsa.generate_private_key(65537, 2048) for _ in range(POOL)])
        rsa.generate_private_key = lambda *a, **k: next(pool)  # type: ignore[assignment]
    else:
        pool = itertools.cycle([ec.generate_private_key(ec.SECP256R1()) for _ in range(POOL)])
        ec.generate_private_key = lambda *a, **k: next(pool)  # type: ignore[assignment]


def _trustme(key_type: str, count: int) -> tuple[float, float]:
    import trustme

    kind = trustme.KeyType.ECDSA if key_type == "ec256" else trustme.KeyType.RSA
    ca = trustme.CA(key_type=kind)
    ca.issue_cert("warm-up.harbor.test", key_type=kind)  # untimed, as for tlsprov
    start, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        ca.issue_cert(f"host{i}.harbor.test", key_type=kind)
    return time.process_time() - start, time.perf_counter() - wall


def _tlsprov(key_type: str, count: int, *, files: bool, sets: bool) -> tuple[float, float]:
    import tlsprov

    with tempfile.TemporaryDirectory(prefix="tlsprov-bench-") as tmp:
        folder = Path(tmp)
        provider = tlsprov.get_provider("selfsigned", ca_dir=str(folder / "ca"), key_type=key_type)
        assert provider.ca_manager is not None
        provider.ca_manager.init_ca()
        # untimed: the first issue loads the CA and what the check imports on first use
        provider.issue(tlsprov.make_request(["warm-up.harbor.test"], key_type=key_type))
        start, wall = time.process_time(), time.perf_counter()
        if sets:
            for first in range(0, count, SET_SIZE):
                names = [f"host{i}.harbor.test" for i in range(first, min(first + SET_SIZE, count))]
                provider.issue_all([tlsprov.make_request([n], key_type=key_type) for n in names])
        for i in range(0 if sets else count):
            name = f"host{i}.harbor.test"
            bundle = provider.issue(tlsprov.make_request([name], key_type=key_type))
            if files:
                tlsprov.write_bundle(folder / "out" / name, name, bundle)
        return time.process_time() - start, time.perf_counter() - wall


def worker(args: dict[str, Any]) -> dict[str, Any]:
    """In-process: issue ``count`` certificates the way ``variant`` does."""
    variant, key_type, count = args["variant"], args["key_type"], int(args["count"])
    if variant.endswith(" (keys premade)"):
        _premade_keys(key_type)
        variant = variant.split(" ")[0]
    if variant == "trustme":
        cpu, wall = _trustme(key_type, count)
    else:
        files, sets = variant == "tlsprov+files", variant == "tlsprov sets"
        cpu, wall = _tlsprov(key_type, count, files=files, sets=sets)
    # the in-memory one-by-one variants are CPU-bound in one thread: CPU seconds; files wait for
    # fsync and sets run threads: wall seconds
    seconds = wall if variant in ("tlsprov+files", "tlsprov sets") else cpu
    return {"seconds": seconds, "rate": count / seconds, "wall_rate": count / wall}


def run(
    runs: int = 10,
    *,
    ec_count: int = 3000,
    rsa_count: int = 300,
    files_share: float = 0.2,
    tools: Tools | None = None,
) -> dict[str, Any]:
    """Rates (certificates per second, median over ``runs``) per key type and variant.

    ``tlsprov+files`` issues ``files_share`` of the count (it is bound by fsync, and only its
    rate is reported).
    """
    tools = tools or find_tools()
    variants = VARIANTS if tools.has_trustme else tuple(v for v in VARIANTS if "trustme" not in v)
    counts = {"ec256": ec_count, "rsa2048": rsa_count}
    measurements: dict[str, Any] = {}
    targets: list[dict[str, Any]] = []
    for key_type in KEY_TYPES:
        rates: dict[str, list[float]] = {v: [] for v in variants}
        wall_rates: dict[str, list[float]] = {v: [] for v in variants}
        per_run: dict[str, int] = {}
        peaks: dict[str, list[int]] = {v: [] for v in variants}
        for round_no in range(runs):
            for variant in rotate(variants, round_no):
                count = counts[key_type]
                if variant == "tlsprov+files":
                    count = max(1, round(count * files_share))
                per_run[variant] = count
                args = {"variant": variant, "key_type": key_type, "count": count}
                data, sample = run_worker(tools, "bench_2_bulk", args)
                rates[variant].append(data["rate"])
                wall_rates[variant].append(data["wall_rate"])
                peaks[variant].append(sample.peak_rss_kib)
        for variant in variants:
            stats = summarize(rates[variant], peaks[variant])
            stats = {
                "median_per_s": stats["median_s"],
                "min_per_s": stats["min_s"],
                "max_per_s": stats["max_s"],
                "n": stats["n"],
                "certs_per_run": per_run[variant],
                "peak_rss_mib": stats["peak_rss_mib"],
            }
            measurements[f"{key_type} {variant}"] = stats
        ours = measurements[f"{key_type} tlsprov"]["median_per_s"]
        files = measurements[f"{key_type} tlsprov+files"]["median_per_s"]
        if tools.has_trustme:
            theirs = measurements[f"{key_type} trustme"]["median_per_s"]
            # Each round ran both side by side: the median of the rounds' ratios, so that the
            # machine getting faster or slower between rounds does not decide the target.
            ratio = statistics.median(
                a / b for a, b in zip(rates["tlsprov"], rates["trustme"], strict=True)
            )
            sets_ratio = statistics.median(
                a / b for a, b in zip(rates["tlsprov sets"], wall_rates["trustme"], strict=True)
            )
            own = {
                who: 1e6 / measurements[f"{key_type} {who} (keys premade)"]["median_per_s"]
                for who in ("tlsprov", "trustme")
            }
            own_ratio = statistics.median(
                a / b
                for a, b in zip(
                    rates["tlsprov (keys premade)"], rates["trustme (keys premade)"], strict=True
                )
            )
            targets.append(
                {
                    "what": f"{key_type}: tlsprov / trustme rate, in memory",
                    "measured": f"{ratio:.2f}× (median of {runs} rounds; "
                    f"{ours:.0f} vs {theirs:.0f}/s)",
                    "target": f"≥ {TARGET[key_type]:g}×",
                    "met": ratio >= TARGET[key_type],
                    "note": f"with files written: {files:.0f}/s; in sets of {SET_SIZE} "
                    f"(issue_all), wall time: {sets_ratio:.2f}× trustme's wall rate; "
                    f"key generation taken out: {own_ratio:.2f}× ({own['tlsprov']:.0f} vs "
                    f"{own['trustme']:.0f} µs per leaf)",
                }
            )
        else:
            targets.append(
                {
                    "what": f"{key_type}: tlsprov / trustme rate, in memory",
                    "measured": f"{ours:.0f}/s",
                    "target": f"≥ {TARGET[key_type]:g}×",
                    "met": None,
                    "note": NOT_RUN_SMOKE,
                }
            )
    return {
        "bench": 2,
        "title": "bulk leaf issuance from one CA (certificates per second)",
        "runs": runs,
        "measurements": measurements,
        "targets": targets,
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    print(json.dumps(worker(json.loads(sys.argv[2]))))
