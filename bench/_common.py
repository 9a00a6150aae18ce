"""What every benchmark shares: timed child processes with their peak memory, and summaries.

Each measurement runs in its own child process. Wall time is taken around the child (whole
commands) or reported by the child itself (in-process work, see :func:`run_worker`). Peak
memory is the child's maximum resident set size as GNU ``/usr/bin/time -f %M`` reports it
(Debian package ``time``). ``getrusage``/``wait4`` figures would over-report: Linux counts the
forked copy of this (large) benchmark process, before ``exec``, in the child's maximum. Without
``/usr/bin/time`` the ``RUSAGE_CHILDREN`` maximum is used, an upper bound (the README says so).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_DIR",
    "GNU_TIME",
    "NOT_RUN_SMOKE",
    "Sample",
    "Tools",
    "find_tools",
    "fresh_dir",
    "ratio_target",
    "rotate",
    "run_measured",
    "run_worker",
    "summarize",
]

BENCH_DIR = Path(__file__).resolve().parent
NOT_RUN_SMOKE = "not run in smoke mode"
GNU_TIME = "/usr/bin/time"


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed child process."""

    seconds: float
    peak_rss_kib: int
    stdout: str


@dataclass(frozen=True, slots=True)
class Tools:
    """The programs the benchmarks compare, found next to the running interpreter."""

    python: str
    tlsprov: tuple[str, ...]
    certbot: str | None
    has_trustme: bool


def find_tools(python: str | None = None) -> Tools:
    """The ``tlsprov`` and ``certbot`` scripts of the virtualenv that runs the benchmarks."""
    py = python or sys.executable
    bindir = Path(py).parent
    script = bindir / "tlsprov"
    tlsprov = (str(script),) if script.exists() else (py, "-m", "tlsprov")
    certbot = bindir / "certbot"
    try:
        import trustme  # noqa: F401

        has_trustme = True
    except ImportError:
        has_trustme = False
    return Tools(
        python=py,
        tlsprov=tlsprov,
        certbot=str(certbot) if certbot.exists() else None,
        has_trustme=has_trustme,
    )


def run_measured(
    argv: Sequence[str],
    *,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Sample:
    """Run ``argv`` to completion; its wall time and peak RSS in KiB.

    Raises:
        RuntimeError: the command failed or ran past ``timeout`` (it is killed then).
    """
    full_env = {**os.environ, **(env or {})}
    use_time = os.access(GNU_TIME, os.X_OK)
    with tempfile.NamedTemporaryFile(prefix="bench-rss-", suffix=".txt") as rss_file:
        wrapped = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if use_time else list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=cwd,
            start_new_session=True,  # a timeout kills the whole group: time and its child
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            out_b, err_b = proc.communicate()
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = _read_rss(Path(rss_file.name)) if use_time else int(usage.ru_maxrss)
    out = out_b.decode(errors="replace")
    err = err_b.decode(errors="replace")
    if timed_out.is_set():
        raise RuntimeError(f"{argv[0]} ran longer than {timeout} s and was killed")
    if proc.returncode != 0:
        tail = "\n".join((err or out).splitlines()[-15:])
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{tail}")
    return Sample(seconds=elapsed, peak_rss_kib=peak, stdout=out)


def _read_rss(path: Path) -> int:
    """The ``%M`` figure (KiB) GNU time wrote as the last line of ``path``."""
    lines = path.read_text(encoding="utf-8", errors="replace").split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def run_worker(
    tools: Tools, module: str, args: Mapping[str, Any], *, timeout: float = 300.0
) -> tuple[dict[str, Any], Sample]:
    """Run ``bench/<module>.py --worker '<json args>'`` in a fresh interpreter.

    The worker prints one JSON object (its own timings); the sample carries its peak memory.
    """
    script = BENCH_DIR / f"{module}.py"
    sample = run_measured(
        [tools.python, str(script), "--worker", json.dumps(dict(args))], timeout=timeout
    )
    return json.loads(sample.stdout.strip().splitlines()[-1]), sample


def rotate(items: Sequence[str], round_no: int) -> list[str]:
    """``items`` rotated by ``round_no``: interleaved runs, each side first as often."""
    k = round_no % len(items)
    return [*items[k:], *items[:k]]


def summarize(seconds: Sequence[float], rss_kib: Sequence[int] = ()) -> dict[str, Any]:
    """Median, min, max and count of ``seconds``; the peak of ``rss_kib`` in MiB."""
    result: dict[str, Any] = {
        "median_s": statistics.median(seconds),
        "min_s": min(seconds),
        "max_s": max(seconds),
        "n": len(seconds),
    }
    if rss_kib:
        result["peak_rss_mib"] = round(max(rss_kib) / 1024, 1)
    return result


def ratio_target(
    what: str, value: float | None, limit: float, *, unit: str = "×", note: str = ""
) -> dict[str, Any]:
    """A target row ``value <= limit``; ``value=None`` means the comparison was not run."""
    if value is None:
        return {
            "what": what,
            "measured": None,
            "target": f"≤ {limit:g}{unit}",
            "met": None,
            "note": note or NOT_RUN_SMOKE,
        }
    return {
        "what": what,
        "measured": f"{value:.2f}{unit}",
        "target": f"≤ {limit:g}{unit}",
        "met": value <= limit,
        "note": note,
    }


def fresh_dir(path: Path) -> Path:
    """``path`` emptied and created."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
