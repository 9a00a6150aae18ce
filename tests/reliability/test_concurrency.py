"""Two runs started at once on one root: one waits or fails clearly; never mixed files.

A slow recording ``prepare`` (1.5 s) keeps the first run inside its lock long enough for the
second to meet it, whichever of the two wins the race.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.pki.x509 import key_matches_cert, load_certs, load_private_key

SLOW = 1.5
TARGETS = "harbor,docker,os-trust"
PREPARE = ("opt/harbor/prepare",)  # slow in the race, quick in the references


def _install_argv(box: Any, bundle: Path, lock_timeout: float) -> list[str]:
    return [
        sys.executable, "-m", "tlsprov", "install", "--bundle", str(bundle), "--host", S.HOST,
        "--port", "8443", "--alt-name", "127.0.0.1", "--root", str(box.root),
        "--targets", TARGETS, "--harbor-dir", "/opt/harbor", "--lock-timeout", str(lock_timeout),
    ]  # fmt: skip


def _together(argvs: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str, int]]:
    procs = [
        subprocess.Popen(a, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for a in argvs
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=60)
        out.append((proc.returncode, stdout, stderr, proc.pid))
    return out


def _reference(
    sandbox: Any, recording_prepare: Any, bundle: Path
) -> dict[str, tuple[int, bytes | None]]:
    """The complete set one install of ``bundle`` leaves (root paths do not appear in it)."""
    box = sandbox()
    recording_prepare(box)
    result = subprocess.run(
        _install_argv(box, bundle, 0), env=box.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    snap: dict[str, tuple[int, bytes | None]] = box.snapshot(exclude=PREPARE, state=False)
    return snap


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("tlsprov: error: ")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.parametrize("lock_timeout", [0.0, 30.0])
def test_two_installs_at_once(
    lock_timeout: float, sandbox: Any, bundles: Any, recording_prepare: Any
) -> None:
    sets = {
        "a": _reference(sandbox, recording_prepare, bundles.a),
        "b": _reference(sandbox, recording_prepare, bundles.b),
    }
    box = sandbox()
    recording_prepare(box, delay=SLOW)
    runs = _together(
        [
            _install_argv(box, bundles.a, lock_timeout),
            _install_argv(box, bundles.b, lock_timeout),
        ],
        box.env,
    )
    codes = sorted(code for code, *_ in runs)
    assert codes[0] == 0, runs
    final = box.snapshot(exclude=PREPARE, state=False)
    matches = [name for name, snap in sets.items() if snap == final]
    assert len(matches) == 1, S.snapshot_diff(sets["a"], final)
    if codes == [0, 0]:  # the second waited, re-planned nothing and still matched its plan
        return
    assert codes == [0, 1], runs
    (winner,) = [r for r in runs if r[0] == 0]
    (loser,) = [r for r in runs if r[0] == 1]
    line = _error_line(loser[2])
    if lock_timeout == 0:
        assert re.search(rf"another tlsprov run \(pid {winner[3]}\) holds the lock", line), line
    else:  # it waited for the lock, then saw that the files had changed under its plan
        assert "changed after the plan was made" in line, line
    winner_set = "a" if winner is runs[0] else "b"
    assert matches == [winner_set]


def _config(box: Any, ca_dir: Path) -> Path:
    text = f"""
[harbor]
hostname = "harbor.test"
https_port = 8443
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{ca_dir}"
key_type = "ec256"

[install]
root = "{box.root}"
targets = ["harbor", "docker", "os-trust"]
verify = false
"""
    path = box.base / "tlsprov.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_two_provisions_at_once(sandbox: Any, recording_prepare: Any) -> None:
    box = sandbox()
    recording_prepare(box, delay=SLOW)
    ca_dir = box.base / "ca"
    init = box.tlsprov("ca", "init", "--ca-dir", str(ca_dir), "--key-type", "ec256")
    assert init.returncode == 0, S.describe(init)
    config = _config(box, ca_dir)
    argv = [sys.executable, "-m", "tlsprov", "provision", "--config", str(config)]
    runs = _together([argv, argv], box.env)
    assert sorted(code for code, *_ in runs) == [0, 1], runs
    (winner,) = [r for r in runs if r[0] == 0]
    (loser,) = [r for r in runs if r[0] == 1]
    line = _error_line(loser[2])
    assert f"another tlsprov run (pid {winner[3]}) holds the lock" in line, line

    # One complete set: the key, the certificate and every CA copy belong together...
    cert_dir = box.root / "data" / "cert"
    leaf = load_certs((cert_dir / "harbor.test.crt").read_bytes(), source="crt")[0]
    key = load_private_key((cert_dir / "harbor.test.key").read_bytes(), source="key")
    assert key_matches_cert(key, leaf)
    ca = (box.root / "data" / "ca_download" / "ca.crt").read_bytes()
    assert (box.certs_d(8443) / "ca.crt").read_bytes() == ca
    # ...and exactly what provision wants: a second run has nothing to write.
    before = box.snapshot(state=False)
    again = box.tlsprov("provision", "--config", str(config))
    assert again.returncode == 0, S.describe(again)
    assert box.snapshot(state=False) == before, S.snapshot_diff(before, box.snapshot(state=False))
