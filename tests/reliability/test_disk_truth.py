"""A disk that is full everywhere (the whole root on a tiny tmpfs, state folder included): the
one error line says the disk is full, never "internal error", and never asks for a manual
restore when every host file is intact (only tlsprov's own state could not be written)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

HERE = Path(__file__).resolve().parent
STATE = "var/lib/tlsprov"


def _whole_root_full(box: Any, argv: list[str], free_pages: int) -> dict[str, Any]:
    seed = box.base / "seed"
    shutil.copytree(box.root, seed, symlinks=True)
    spec = {
        "mount": str(box.root), "size": "512k", "free_pages": free_pages, "seed": str(seed),
        "root": str(box.root), "exclude": [STATE, "var/lib", "var"], "argv": argv,
        "env": box.env, "result": str(box.base / "ns-result.json"),
    }  # fmt: skip
    proc = subprocess.run(
        ["unshare", "-m", sys.executable, str(HERE / "_nsrun.py"), json.dumps(spec)],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads((box.base / "ns-result.json").read_text())
    return result


@pytest.mark.parametrize("free_pages", [0, 1, 2, 3])
def test_a_full_disk_is_reported_truthfully(free_pages: int, sandbox: Any, bundles: Any) -> None:
    box = sandbox()
    argv = [
        "install", "--bundle", str(bundles.a), "--host", S.HOST, "--port", "8443",
        "--root", str(box.root), "--targets", "harbor,docker,os-trust",
        "--harbor-dir", "/opt/harbor",
    ]  # fmt: skip
    result = _whole_root_full(box, argv, free_pages)
    assert result["code"] == 1, result
    lines = [line for line in result["stderr"].splitlines() if line.startswith("tlsprov: error:")]
    assert len(lines) == 1 and "Traceback" not in result["stderr"], result["stderr"]
    line = lines[0]
    assert "internal error" not in line and "the disk is full" in line, line
    assert result["changed"] == [], result["changed"]  # every host file is intact...
    assert "by hand" not in line and "rolling back failed" not in line, line  # ...so say so
    assert not any("tlsprov-tmp" in p for p in result["listing"])
