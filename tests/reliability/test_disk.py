"""A full disk (a real 64 KiB tmpfs) and a read-only folder during apply.

Both run in a private mount namespace (``unshare -m``; the suite runs as root), so nothing
leaks to the host. Each case must end with exit 1, exactly one ``tlsprov: error:`` line naming
the cause, every change rolled back, and nothing half-written (no temp file, no new folder).
"""

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
ALL = "harbor,docker,os-trust"
STATE = "var/lib/tlsprov"


def _install_args(box: Any, bundle: Path, port: int = 8443, targets: str = ALL) -> list[str]:
    return [
        "install", "--bundle", str(bundle), "--host", S.HOST, "--port", str(port),
        "--root", str(box.root), "--targets", targets, "--harbor-dir", "/opt/harbor",
    ]  # fmt: skip


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("tlsprov: error: ")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _full_disk(
    box: Any, mount: Path, argv: list[str], *, free_pages: int, seed: Path | None = None
) -> dict[str, Any]:
    spec = {
        "mount": str(mount),
        "size": "64k",
        "free_pages": free_pages,
        "seed": str(seed) if seed else None,
        "root": str(box.root),
        "exclude": [STATE, "var/lib", "var"],
        "argv": argv,
        "env": box.env,
        "result": str(box.base / "ns-result.json"),
    }
    proc = subprocess.run(
        ["unshare", "-m", sys.executable, str(HERE / "_nsrun.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads((box.base / "ns-result.json").read_text())
    return result


def test_disk_full_in_the_data_volume_rolls_back(sandbox: Any, bundles: Any) -> None:
    """The first file under /data fits, the key does not: the OS trust file written before
    and the certificate are removed again."""
    box = sandbox()
    result = _full_disk(box, box.root / "data", _install_args(box, bundles.a), free_pages=1)
    assert result["code"] == 1, result
    line = _error_line(result["stderr"])
    assert "the disk is full" in line and "rolled back" in line, line
    assert "/data/cert/harbor.test.key" in line, line  # mid-apply: the certificate was written
    assert result["changed"] == [], result["changed"]
    assert not any("tlsprov-tmp" in p for p in result["listing"])


def test_disk_full_in_certs_d_restores_the_replaced_files(sandbox: Any, bundles: Any) -> None:
    """A installed; B's Docker CA does not fit in a full certs.d: Harbor's replaced cert, key
    and harbor.yml get A's bytes back."""
    box = sandbox()
    first = box.tlsprov(*_install_args(box, bundles.a))
    assert first.returncode == 0, S.describe(first)
    certs_d = box.root / "etc" / "docker" / "certs.d"
    seed = box.base / "seed"
    shutil.copytree(certs_d, seed, symlinks=True)
    result = _full_disk(box, certs_d, _install_args(box, bundles.b), free_pages=0, seed=seed)
    assert result["code"] == 1, result
    line = _error_line(result["stderr"])
    assert "the disk is full" in line and "rolled back" in line, line
    assert "/etc/docker/certs.d/" in line, line  # after the Harbor files were replaced
    assert result["changed"] == [], result["changed"]
    assert not any("tlsprov-tmp" in p for p in result["listing"])


def _read_only(box: Any, folder: Path, argv: list[str]) -> subprocess.CompletedProcess[str]:
    script = (
        'set -e; mount --make-rprivate /; mount --bind "$1" "$1"; '
        'mount -o remount,ro,bind "$1"; shift; exec "$@"'
    )
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(folder),
         sys.executable, "-m", "tlsprov", *argv],
        capture_output=True, text=True, env=box.env, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("folder", "cause"),
    [
        ("opt/harbor", "harbor.yml"),  # the last Harbor file: after cert, key, ca_download
        ("etc/docker/certs.d", "harbor.test:9443"),  # its new folder cannot be made
        ("usr/local/share/ca-certificates", "tlsprov-harbor.test.crt"),  # the very first write
    ],
)
def test_read_only_folder_rolls_back(folder: str, cause: str, sandbox: Any, bundles: Any) -> None:
    box = sandbox()
    first = box.tlsprov(*_install_args(box, bundles.a))
    assert first.returncode == 0, S.describe(first)
    (box.root / folder).mkdir(parents=True, exist_ok=True)
    before = box.snapshot(state=False)
    result = _read_only(box, box.root / folder, _install_args(box, bundles.b, port=9443))
    assert result.returncode == 1, S.describe(result)
    line = _error_line(result.stderr)
    assert "Read-only file system" in line and cause in line and "rolled back" in line, line
    after = box.snapshot(state=False)
    assert after == before, S.snapshot_diff(before, after)


def test_read_only_state_folder_refuses_before_writing(sandbox: Any, bundles: Any) -> None:
    box = sandbox()
    state = box.root / STATE
    state.mkdir(parents=True)
    before = box.snapshot()
    result = _read_only(box, state, _install_args(box, bundles.a))
    assert result.returncode == 1, S.describe(result)
    line = _error_line(result.stderr)
    assert "Read-only file system" in line, line
    assert box.snapshot() == before, S.snapshot_diff(before, box.snapshot())
