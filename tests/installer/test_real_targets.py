"""The engine with the built-in ``docker`` and ``os-trust`` targets in a Debian sandbox root:
Docker is restarted only when the trust store changes, and after update-ca-certificates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsprov.install.engine import apply_install, plan_install
from tlsprov.install.rollback import rollback_last
from tlsprov.models import InstallContext
from tlsprov.plugins.registry import Registry
from tlsprov.testing import tree_snapshot

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


@pytest.fixture
def sandbox(root: Path) -> Path:
    (root / "etc/os-release").write_text(DEBIAN)
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    return root


def test_docker_restart_only_when_the_trust_store_changes(
    ca, sandbox, recorder, state_dir, fresh_registry: Registry
):
    recorder.add("update-ca-certificates", "systemctl")
    context = InstallContext(root=sandbox, host="harbor.test", port=8443)
    first = ca.bundle(["harbor.test"])

    plan = plan_install(first, context, ["docker", "os-trust"], registry=fresh_registry)
    assert [p.target for p in plan.plans] == ["os-trust", "docker"]
    assert plan.context.os_trust_changed
    result = apply_install(plan, state_dir=state_dir, runner=recorder.runner())

    anchor = sandbox / "usr/local/share/ca-certificates/tlsprov-harbor.test.crt"
    assert anchor.read_bytes() == ca.pem
    certs_d = sandbox / "etc/docker/certs.d/harbor.test:8443"
    assert (certs_d / "ca.crt").read_bytes() == ca.pem
    assert sorted(p.name for p in certs_d.iterdir()) == ["ca.crt"]  # no server pair (issue 12)
    assert recorder.calls() == [["update-ca-certificates"], ["systemctl", "restart", "docker"]]
    assert any("OS trust store changed" in n for n in result.notes)

    # A renewed leaf from the same CA: neither certs.d (it holds only the CA) nor the trust
    # store changes, so nothing is written and Docker is not restarted.
    recorder.clear()
    renewed = ca.bundle(["harbor.test"])
    plan = plan_install(renewed, context, ["docker", "os-trust"], registry=fresh_registry)
    assert not plan.context.os_trust_changed
    assert plan.changed_targets == set()
    result = apply_install(plan, state_dir=state_dir, runner=recorder.runner())
    assert not result.changed
    assert recorder.calls() == []  # no restart: dockerd re-reads certs.d by itself
    assert (certs_d / "ca.crt").read_bytes() == ca.pem

    # Same bundle again: nothing to do.
    plan = plan_install(renewed, context, ["docker", "os-trust"], registry=fresh_registry)
    result = apply_install(plan, state_dir=state_dir, runner=recorder.runner())
    assert not result.changed and result.commands == ()


def test_rollback_of_a_trust_store_install_reruns_its_commands(
    ca, sandbox, recorder, state_dir, fresh_registry: Registry
):
    recorder.add("update-ca-certificates", "systemctl")
    before = tree_snapshot(sandbox)
    context = InstallContext(root=sandbox, host="harbor.test")
    plan = plan_install(
        ca.bundle(["harbor.test"]), context, ["os-trust", "docker"], registry=fresh_registry
    )
    apply_install(plan, state_dir=state_dir, runner=recorder.runner())
    assert (sandbox / "etc/docker/certs.d/harbor.test/ca.crt").exists()  # port 443: no port
    recorder.clear()

    result = rollback_last(sandbox, state_dir, runner=recorder.runner())

    assert tree_snapshot(sandbox) == before
    assert recorder.calls() == [["update-ca-certificates"], ["systemctl", "restart", "docker"]]
    assert result.commands == (("update-ca-certificates",), ("systemctl", "restart", "docker"))
