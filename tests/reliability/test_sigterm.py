"""SIGTERM (what systemd sends on stop) in the middle of an install: tlsprov kills the command
in flight, rolls back, and exits 143 with one clear line. (SIGKILL is covered by the recovery
of the next run: test_faults.py.)"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tlsprov_e2e_support as S
from tlsprov_reliability_configs import provision_config

HANG = """#!/bin/sh
# hangs the first time only: the re-run after the rollback must work
[ -e {pids} ] && exit 0
echo $$ > {pids}.tmp && mv {pids}.tmp {pids}
exec sleep 3600
"""


def _wait_for(path: Path, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _stop_during_prepare(box: Any, args: list[str]) -> tuple[subprocess.Popen[str], str, int]:
    pids = box.base / "prepare.pid"
    prepare = box.harbor / "prepare"
    prepare.write_text(HANG.format(pids=pids), encoding="utf-8")
    prepare.chmod(0o755)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tlsprov", *args],
        env=box.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for(pids)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return proc, stderr, int(pids.read_text())


def _check(box: Any, proc: Any, stderr: str, prepare_pid: int, before: Any, exclude: Any) -> None:
    assert proc.returncode == 143, (proc.returncode, stderr)
    lines = [line for line in stderr.splitlines() if line.startswith("tlsprov: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "SIGTERM" in lines[0] and "rolled back" in lines[0], lines
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{prepare_pid}").exists()
        or "Z" in (Path(f"/proc/{prepare_pid}/stat").read_text().split()[2])
    ), "the command in flight was not stopped"
    after = box.snapshot(state=False, exclude=exclude)
    assert after == before, S.snapshot_diff(before, after)


def test_sigterm_during_install_rolls_back(sandbox: Any, bundles: Any) -> None:
    box = sandbox()
    exclude = ("opt/harbor/prepare",)
    before = box.snapshot(state=False, exclude=exclude)
    proc, stderr, pid = _stop_during_prepare(box, [
        "install", "--bundle", str(bundles.a), "--host", S.HOST, "--port", "8443",
        "--alt-name", "127.0.0.1", "--root", str(box.root), "--targets", "harbor,docker",
    ])  # fmt: skip
    _check(box, proc, stderr, pid, before, exclude)


def test_sigterm_during_provision_rolls_back_files_and_lineage(sandbox: Any) -> None:
    box = sandbox()
    config = provision_config(box, '"harbor", "docker"')
    exclude = ("opt/harbor/prepare", "etc/tlsprov")  # the CA provision made stays
    before = box.snapshot(state=False, exclude=exclude)
    proc, stderr, pid = _stop_during_prepare(box, ["provision", "--config", str(config)])
    _check(box, proc, stderr, pid, before, exclude)
    assert not (box.root / S.STATE_DIR / "live" / S.HOST).exists()
