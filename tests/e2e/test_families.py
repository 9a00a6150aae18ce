"""Every target's plan (--dry-run) and apply on each os-release family, through the CLI."""

from __future__ import annotations

from typing import Any

import pytest
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e

ALL_TARGETS = (
    "--targets",
    "harbor,docker,containerd,podman,os-trust",
    "--harbor-dir",
    "/opt/harbor",
)
PORT = 8443
REGISTRY = f"{S.HOST}:{PORT}"

DEBIAN = "/usr/local/share/ca-certificates/tlsprov-harbor.test.crt"
RHEL = "/etc/pki/ca-trust/source/anchors/tlsprov-harbor.test.pem"
ARCH = "/etc/ca-certificates/trust-source/anchors/tlsprov-harbor.test.crt"
SUSE = "/etc/pki/trust/anchors/tlsprov-harbor.test.pem"
FAMILIES = {
    "debian": (DEBIAN, ["update-ca-certificates"]),
    "ubuntu": (DEBIAN, ["update-ca-certificates"]),
    "rhel": (RHEL, ["update-ca-trust", "extract"]),
    "fedora": (RHEL, ["update-ca-trust", "extract"]),
    "arch": (ARCH, ["trust", "anchor", "--store", ARCH]),
    "opensuse": (SUSE, ["update-ca-certificates"]),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_plan_and_apply_every_target(family: str, issued: Any, sandbox: Any) -> None:
    anchor, trust_command = FAMILIES[family]
    box = sandbox(family)
    bundle = issued.server
    ca = (bundle / "ca.crt").read_bytes()

    planned = box.install(bundle, PORT, *ALL_TARGETS, "--dry-run")
    assert planned.returncode == 0, S.describe(planned)
    for path in (
        anchor,
        f"/etc/docker/certs.d/{REGISTRY}/ca.crt",
        f"/etc/containerd/certs.d/{REGISTRY}/hosts.toml",
        f"/etc/containers/certs.d/{REGISTRY}/ca.crt",
        "/data/cert/harbor.test.crt",
    ):
        assert path in planned.stdout, (path, planned.stdout)
    assert " ".join(trust_command) in planned.stdout
    assert box.raw_records() == []
    assert not box.path(anchor).exists()

    applied = box.install(bundle, PORT, *ALL_TARGETS)
    assert applied.returncode == 0, S.describe(applied)
    assert box.path(anchor).read_bytes() == ca
    assert box.path(anchor).stat().st_mode & 0o777 == 0o644
    assert (box.certs_d(PORT) / "ca.crt").read_bytes() == ca
    assert box.path(f"/etc/containers/certs.d/{REGISTRY}/ca.crt").read_bytes() == ca
    hosts_toml = box.path(f"/etc/containerd/certs.d/{REGISTRY}/hosts.toml").read_text()
    assert f'server = "https://{REGISTRY}"' in hosts_toml
    assert "ca = " in hosts_toml
    assert box.path("/data/cert/harbor.test.key").stat().st_mode & 0o777 == 0o600
    assert box.path("/data/ca_download/ca.crt").read_bytes() == ca

    calls = box.records()
    assert calls.count(trust_command) == 1, calls
    assert calls.count(["systemctl", "restart", "docker"]) == 1, calls
    assert calls.index(trust_command) < calls.index(["systemctl", "restart", "docker"]), calls
    for harbor_call in (
        ["prepare"],
        ["docker", "compose", "down", "-v"],
        ["docker", "compose", "up", "-d"],
    ):
        assert calls.count(harbor_call) == 1, calls
    assert len(calls) == 5, calls


def test_unknown_family_is_refused_naming_the_supported_ones(issued: Any, sandbox: Any) -> None:
    box = sandbox("unknown", harbor_yml=None)
    before = box.snapshot()
    result = box.install(issued.server, PORT, "--client-only", "--targets", "os-trust")
    assert result.returncode == 2, S.describe(result)
    for family in ("Debian", "RHEL", "Arch", "SUSE"):
        assert family in result.stderr, result.stderr
    assert box.snapshot() == before
    assert box.raw_records() == []
