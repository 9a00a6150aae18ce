"""A command that hangs (here Harbor's ``./prepare``, with a child of its own) is killed at the
timeout, with everything it started; the install is rolled back; the error names the command.
The timeout is ``--command-timeout`` for ``install`` and ``[install] command_timeout`` for
``provision``; without them each step has its own default (see ``tlsprov.install.commands``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tlsprov_e2e_support as S
from tlsprov_reliability_configs import provision_config

HANG = """#!/bin/sh
# a stand-in for a ./prepare stuck on a docker pull: a child that never ends, holding stdout
echo $$ > {pids}
{python} -c 'import os, time; open("{pids}", "a").write(" %d" % os.getpid()); time.sleep(3600)'
"""


def _hanging_prepare(box: Any) -> Path:
    pids = box.base / "prepare.pids"
    prepare = box.harbor / "prepare"
    prepare.write_text(HANG.format(pids=pids, python=sys.executable), encoding="utf-8")
    prepare.chmod(0o755)
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().split()[2] != "Z"


def _run(box: Any, args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "tlsprov", *args],
        env=box.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return result, time.monotonic() - start


def _check(
    box: Any, result: Any, took: float, pids: Path, before: Any, exclude: tuple[str, ...]
) -> None:
    assert result.returncode == 1, S.describe(result)
    assert took < 30, took
    errors = [line for line in result.stderr.splitlines() if line.startswith("tlsprov: error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "./prepare" in errors[0] and "timed out after 2 s" in errors[0], errors
    assert "rolled back" in errors[0], errors
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"pid {pid} of the hung command is still running"
    after = box.snapshot(state=False, exclude=exclude)
    assert after == before, S.snapshot_diff(before, after)


def test_install_kills_a_hanging_prepare_and_rolls_back(sandbox: Any, bundles: Any) -> None:
    box = sandbox()
    pids = _hanging_prepare(box)
    exclude = ("opt/harbor/prepare",)
    before = box.snapshot(state=False, exclude=exclude)
    result, took = _run(box, [
        "install", "--bundle", str(bundles.a), "--host", S.HOST, "--port", "8443",
        "--alt-name", "127.0.0.1", "--root", str(box.root), "--targets", "harbor,docker",
        "--command-timeout", "2",
    ])  # fmt: skip
    _check(box, result, took, pids, before, exclude)


def test_provision_honours_the_configured_command_timeout(sandbox: Any) -> None:
    box = sandbox()
    pids = _hanging_prepare(box)
    config = provision_config(box, '"harbor", "docker"', "command_timeout = 2\n")
    exclude = ("opt/harbor/prepare", "etc/tlsprov")  # the CA provision made stays
    before = box.snapshot(state=False, exclude=exclude)
    result, took = _run(box, ["provision", "--config", str(config)])
    _check(box, result, took, pids, before, exclude)
