"""Two runs that would create the CA at once, as real processes: exactly one CA comes out.

``tlsprov ca init`` twice on an empty folder: one creates the CA, the other says "a CA already
exists" (exit 2). ``tlsprov issue`` twice (or ``provision`` twice) into an empty CA folder: both
succeed and every bundle chains to the one CA left on disk. The RSA-4096 key takes long enough
to make that the two runs meet inside creation without the lock.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tlsprov_e2e_support as S

from tlsprov.pki.x509 import fingerprint, load_cert

RUNS = 3


def _together(argvs: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tlsprov", *a],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for a in argvs
    ]
    out = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise
        out.append((proc.returncode, stdout, stderr))
    return out


def test_two_ca_inits_at_once_make_one_ca(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    env = S.clean_env(HOME=str(tmp_path))
    runs = _together([["ca", "init", "--ca-dir", str(ca_dir), "--json"]] * RUNS, env)
    ok = [r for r in runs if r[0] == 0]
    refused = [r for r in runs if r[0] != 0]
    assert len(ok) == 1, runs
    for code, _, stderr in refused:
        assert code == 2, stderr
        assert "a CA already exists" in stderr and "Traceback" not in stderr, stderr
    on_disk = fingerprint(load_cert((ca_dir / "ca.crt").read_bytes()))
    assert f'"{on_disk}"' in ok[0][1], (on_disk, ok[0][1])


def test_two_issues_into_an_empty_ca_dir_share_one_ca(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    env = S.clean_env(HOME=str(tmp_path))
    argvs = [
        ["issue", S.HOST, "--ca-dir", str(ca_dir), "--out", str(tmp_path / f"out{i}")]
        for i in range(RUNS)
    ]
    runs = _together(argvs, env)
    assert all(r[0] == 0 for r in runs), runs
    created = [r for r in runs if "created a new CA" in r[1]]
    assert len(created) == 1, runs
    ca_pem = (ca_dir / "ca.crt").read_bytes()
    for i in range(RUNS):
        assert (tmp_path / f"out{i}" / "ca.crt").read_bytes() == ca_pem, i
