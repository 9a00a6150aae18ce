"""A folder that receives a private key is made 0700 even when it already existed (looser);
the change is in the plan, and ``rollback`` gives the folder its old mode back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import tlsprov_security_helpers as H

PORT = 8443


def test_existing_loose_key_folders_are_tightened_and_rolled_back(
    make_sandbox: Any, tmp_path: Path
) -> None:
    box = make_sandbox()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    bundle = tmp_path / "server"
    made = H.run_cli(
        ["issue", H.HOST, "--alt-name", "127.0.0.1", "--ca-dir", str(tmp_path / "ca"),
         "--key-type", "ec256", "--out", str(bundle)],
        env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    client = tmp_path / "client"
    made = H.run_cli(
        ["issue", f"client.{H.HOST}", "--client", "--ca-dir", str(tmp_path / "ca"),
         "--key-type", "ec256", "--out", str(client)],
        env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    cert_dir = box.root / "data" / "cert"
    certs_d = box.root / "etc" / "docker" / "certs.d" / f"{H.HOST}:{PORT}"
    for folder in (cert_dir, certs_d):
        folder.mkdir(parents=True)
        os.chmod(folder, 0o755)
    install = [
        "install", "--bundle", str(bundle), "--host", H.HOST, "--port", str(PORT),
        "--root", str(box.root), "--targets", "harbor,docker", "--client-bundle", str(client),
    ]  # fmt: skip
    dry = H.run_cli([*install, "--dry-run"], box.env)
    assert dry.returncode == 0, dry.stderr
    for folder in ("/data/cert", f"/etc/docker/certs.d/{H.HOST}:{PORT}"):
        assert f"  tighten folder {folder}/  mode 0755 -> 0700" in dry.stdout, dry.stdout
    result = H.run_cli(install, box.env)
    assert result.returncode == 0, result.stderr
    assert (cert_dir / f"{H.HOST}.key").is_file()
    assert H.mode(cert_dir) == 0o700 and H.mode(certs_d) == 0o700
    undo = H.run_cli(["rollback", "--root", str(box.root)], box.env)
    assert undo.returncode == 0, undo.stderr
    assert H.mode(cert_dir) == 0o755 and H.mode(certs_d) == 0o755
