"""``tlsprov demo --engines``: the guide's last step (login, push) with the real engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e


def test_demo_engines_logs_in_and_pushes_with_every_engine(tmp_path: Path) -> None:
    env = S.clean_env(HOME=str(tmp_path))
    result = S.run_tlsprov(
        ["demo", "--engines", "--dir", str(tmp_path / "demo"), "--key-type", "ec256", "--json"],
        env,
    )
    assert result.returncode == 0, S.describe(result)
    report = json.loads(result.stdout)
    steps = {(s["engine"], s["step"].split()[1]): s for s in report["engines"]}
    assert set(steps) == {
        ("docker", "login"), ("docker", "push"), ("containerd", "images"),
        ("podman", "login"), ("podman", "push"),
    }  # fmt: skip
    assert all(s["ok"] is True for s in report["engines"]), report["engines"]
    port = int((tmp_path / "demo" / "port").read_text())
    assert steps[("docker", "login")]["detail"] == "Login Succeeded"
    assert (
        f"--hosts-dir {tmp_path}/demo/root/etc/containerd/certs.d"
        in (steps[("containerd", "images")]["step"])
    )
    assert f"/etc/docker/certs.d/harbor.test:{port}/ca.crt" in report["files"]
    assert f"/etc/containers/certs.d/harbor.test:{port}/ca.crt" in report["files"]
    # Every daemon the demo started is gone, and it left nothing in the real /etc/docker.
    assert not any(p.name == "key.json" for p in Path("/etc/docker").glob("*"))
    assert (tmp_path / "demo" / "root" / "etc" / "docker" / "key.json").is_file()
