"""`tlsprov issue --provider letsencrypt ...` as a user types it, against the session Pebble."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from tlsprov.testing import tree_snapshot


def _tlsprov(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tlsprov", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _common(pebble: Any, tmp_path: Path) -> list[str]:
    return [
        "--provider",
        "letsencrypt",
        "--directory",
        pebble.directory,
        "--ca-bundle",
        str(pebble.listener.ca),
        "--agree-tos",
        "--account-dir",
        str(tmp_path / "account"),
        "--http-address",
        "127.0.0.1",
        "--http-port",
        str(pebble.http_port),
        "--key-type",
        "ec256",
    ]


def test_issue_cli_writes_the_standard_bundle(pebble: Any, tmp_path: Path) -> None:
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.root_pem())
    out = tmp_path / "out"
    proc = _tlsprov(
        "issue",
        "harbor.test",
        *_common(pebble, tmp_path),
        "--root-ca",
        str(root),
        "--out",
        str(out),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["provider"] == "letsencrypt"
    assert doc["ca_source"] == f"root_ca {root}"
    assert sorted(p.name for p in out.iterdir()) == [
        "ca.crt",
        "harbor.test.cert",
        "harbor.test.crt",
        "harbor.test.key",
    ]
    assert (out / "ca.crt").read_bytes().strip() == root.read_bytes().strip()
    assert stat.S_IMODE((out / "harbor.test.key").stat().st_mode) == 0o600
    crt = (out / "harbor.test.crt").read_bytes()
    assert crt.count(b"BEGIN CERTIFICATE") == 2  # leaf + intermediate
    assert (out / "harbor.test.cert").read_bytes() == crt


def test_issue_cli_without_root_says_where_ca_crt_came_from(pebble: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _tlsprov("issue", "harbor.test", *_common(pebble, tmp_path), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "last certificate of the chain the CA served" in proc.stdout


def test_issue_cli_unreachable_directory_is_one_line_and_writes_nothing(
    pebble: Any, tmp_path: Path
) -> None:
    from tlsprov.testing import free_port

    out = tmp_path / "out"
    out.mkdir()
    before = tree_snapshot(tmp_path)
    args = _common(pebble, tmp_path)
    args[args.index("--directory") + 1] = f"https://127.0.0.1:{free_port()}/dir"
    proc = _tlsprov("issue", "harbor.test", *args, "--out", str(out))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "cannot reach the ACME server" in lines[0]
    assert "Traceback" not in proc.stderr
    assert tree_snapshot(tmp_path) == before


def test_issue_cli_client_certificate_is_refused(pebble: Any, tmp_path: Path) -> None:
    proc = _tlsprov(
        "issue", "client1", "--client", *_common(pebble, tmp_path), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "selfsigned" in proc.stderr
    assert not (tmp_path / "o").exists()
