"""Host names no target may turn into a folder or a Harbor hostname (issue 11)."""

from __future__ import annotations

import pytest

from tlsprov.errors import InputError
from tlsprov.install.targets.containerd import ContainerdTarget
from tlsprov.install.targets.docker import DockerTarget
from tlsprov.install.targets.harbor import HarborTarget
from tlsprov.install.targets.podman import PodmanTarget


@pytest.mark.parametrize(
    ("host", "reason"),
    [("*.harbor.test", "wildcard"), ("::1", "loopback"), ("127.0.0.2", "loopback")],
)
def test_harbor_refuses_a_wildcard_or_loopback_hostname(
    harbor_install, ctx, bundle, plan_of, host, reason
) -> None:
    # issue 11 item 11: '*.harbor.test' and '::1' became Harbor's hostname
    harbor_install("tmpl")
    with pytest.raises(InputError) as err:
        plan_of(HarborTarget(), bundle, ctx(host=host))
    assert reason in err.value.one_line()
    assert host in err.value.one_line()


@pytest.mark.parametrize("target", [DockerTarget, ContainerdTarget, PodmanTarget])
def test_certs_d_refuses_a_wildcard_folder(target, ctx, bundle, plan_of) -> None:
    # issue 11 item 11: a certs.d/*.harbor.test/ folder appeared
    with pytest.raises(InputError) as err:
        plan_of(target(), bundle, ctx(host="*.harbor.test", client_only=True))
    line = err.value.one_line()
    assert "wildcard" in line and "exact" in line and "--host" in line
