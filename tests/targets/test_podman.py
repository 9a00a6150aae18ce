"""The podman target: /etc/containers/certs.d/<registry>/."""

from __future__ import annotations

import pytest

from tlsprov.errors import InputError
from tlsprov.install.targets.podman import PodmanTarget

P = "/etc/containers/certs.d"


@pytest.mark.parametrize(("port", "folder"), [(443, "harbor.test"), (8443, "harbor.test:8443")])
def test_ca_only(ctx, bundle, plan_of, port, folder) -> None:
    plan = plan_of(PodmanTarget(), bundle, ctx(port=port))
    assert [(str(w.path), w.content, w.mode) for w in plan.writes] == [
        (f"{P}/{folder}/ca.crt", bundle.ca_pem, 0o644)
    ]
    assert plan.commands == () and plan.warnings == ()


def test_client_pair(ctx, bundle, client_bundle, plan_of) -> None:
    plan = plan_of(PodmanTarget(), bundle, ctx(port=8443, client_bundle=client_bundle))
    writes = {str(w.path): w for w in plan.writes}
    assert list(writes) == [
        f"{P}/harbor.test:8443/ca.crt",
        f"{P}/harbor.test:8443/client.cert",
        f"{P}/harbor.test:8443/client.key",
    ]
    key = writes[f"{P}/harbor.test:8443/client.key"]
    assert key.secret and key.mode == 0o600 and key.content == client_bundle.private_key_pem


def test_server_bundle_as_client_refused(ctx, bundle, plan_of) -> None:
    with pytest.raises(InputError, match="clientAuth"):
        plan_of(PodmanTarget(), bundle, ctx(client_bundle=bundle))


def test_stray_files_warn(ctx, bundle, plan_of, put) -> None:
    put(f"{P}/harbor.test/harbor.test.key", "k", 0o600)
    put(f"{P}/harbor.test/ca.pem", "c")
    warnings = plan_of(PodmanTarget(), bundle, ctx()).warnings
    assert len(warnings) == 2
    assert "harbor.test.key has no harbor.test.cert" in warnings[0]
    assert "ca.pem is ignored by podman" in warnings[1]
