"""The podman target: /etc/containers/certs.d/<registry>/."""

from __future__ import annotations

import pytest

from tlsprov.errors import ConfigError, InputError
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


def test_server_pair_only_on_request(ctx, bundle, plan_of) -> None:
    assert [w.path.name for w in plan_of(PodmanTarget(), bundle, ctx()).writes] == ["ca.crt"]
    plan = plan_of(PodmanTarget({"server_pair": True}), bundle, ctx(port=8443))
    assert [str(w.path) for w in plan.writes] == [
        f"{P}/harbor.test:8443/harbor.test.cert",
        f"{P}/harbor.test:8443/harbor.test.key",
        f"{P}/harbor.test:8443/ca.crt",
    ]
    assert plan.writes[1].secret and plan.writes[1].mode == 0o600


def test_server_pair_with_client_pair_is_refused(ctx, bundle, client_bundle, plan_of) -> None:
    with pytest.raises(InputError, match="podman offers every pair") as info:
        plan_of(PodmanTarget({"server_pair": True}), bundle, ctx(client_bundle=client_bundle))
    assert "[targets.podman]" in (info.value.hint or "")


def test_bad_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="server_pair must be true or false"):
        PodmanTarget({"server_pair": "true"})


def test_leftover_server_pair_warns(ctx, bundle, plan_of, put) -> None:
    put(f"{P}/harbor.test/harbor.test.cert", "c")
    put(f"{P}/harbor.test/harbor.test.key", "k", 0o600)
    warnings = plan_of(PodmanTarget(), bundle, ctx()).warnings
    assert len(warnings) == 1 and "client pair podman offers" in warnings[0]
