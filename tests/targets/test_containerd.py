"""The containerd target: hosts.toml, ca.crt, editing a user's hosts.toml, config_path."""

from __future__ import annotations

import tomllib

import pytest

from tlsprov.errors import ConfigError, InputError
from tlsprov.install.targets.containerd import ContainerdTarget

C = "/etc/containerd/certs.d"
V3 = """version = 3
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"
"""
V2 = """version = 2
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
"""


def _writes(plan) -> dict[str, bytes]:
    return {str(w.path): w.content for w in plan.writes}


@pytest.mark.parametrize(("port", "folder"), [(443, "harbor.test"), (8443, "harbor.test:8443")])
def test_new_hosts_toml(ctx, bundle, plan_of, put, port, folder) -> None:
    put("/etc/containerd/config.toml", V3)
    plan = plan_of(ContainerdTarget(), bundle, ctx(port=port))
    writes = _writes(plan)
    assert list(writes) == [f"{C}/{folder}/ca.crt", f"{C}/{folder}/hosts.toml"]
    assert writes[f"{C}/{folder}/ca.crt"] == bundle.ca_pem
    data = tomllib.loads(writes[f"{C}/{folder}/hosts.toml"].decode())
    assert data == {
        "server": f"https://{folder}",
        "host": {
            f"https://{folder}": {"capabilities": ["pull", "resolve", "push"], "ca": "ca.crt"}
        },
    }
    assert plan.warnings == ()
    assert plan.commands == ()
    assert all(w.description for w in plan.writes)


def test_existing_hosts_toml_gets_a_table_appended(ctx, bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V2)
    user = (
        '# my mirror setup\nserver = "https://harbor.test"\n\n'
        '[host."https://mirror.test"]\n  capabilities = ["pull"]  # mirror first\n'
    )
    put(f"{C}/harbor.test/hosts.toml", user, 0o640)
    plan = plan_of(ContainerdTarget(), bundle, ctx())
    hosts = next(w for w in plan.writes if w.path.name == "hosts.toml")
    text = hosts.content.decode()
    assert text.startswith(user)
    assert hosts.mode == 0o640
    data = tomllib.loads(text)
    assert list(data["host"]) == ["https://mirror.test", "https://harbor.test"]
    assert data["host"]["https://harbor.test"]["ca"] == "ca.crt"
    assert data["host"]["https://mirror.test"] == {"capabilities": ["pull"]}
    assert plan.warnings == ()


def test_existing_table_without_ca_gets_ca_inserted(ctx, bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V2)
    user = (
        'server = "https://harbor.test"\n'
        '[host."https://harbor.test"]\n  capabilities = ["pull", "resolve"]\n'
        '  [host."https://harbor.test".header]\n    x-token = "abc"\n'
    )
    put(f"{C}/harbor.test/hosts.toml", user)
    text = _writes(plan_of(ContainerdTarget(), bundle, ctx()))[f"{C}/harbor.test/hosts.toml"]
    data = tomllib.loads(text.decode())
    table = data["host"]["https://harbor.test"]
    assert table == {
        "ca": "ca.crt",
        "capabilities": ["pull", "resolve"],
        "header": {"x-token": "abc"},
    }
    assert text.decode().replace('  ca = "ca.crt"\n', "") == user


@pytest.mark.parametrize(
    "ca", ['"ca.crt"', '["other.crt", "/etc/containerd/certs.d/harbor.test/ca.crt"]']
)
def test_hosts_toml_already_ours_is_unchanged(ctx, bundle, plan_of, put, ca) -> None:
    put("/etc/containerd/config.toml", V3)
    put(f"{C}/harbor.test/hosts.toml", f'[host."https://harbor.test"]\n  ca = {ca}\n')
    plan = plan_of(ContainerdTarget(), bundle, ctx())
    assert [w.path.name for w in plan.writes] == ["ca.crt"]
    assert plan.warnings == ()


def test_hosts_toml_with_other_ca_is_left_alone_with_warning(ctx, bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V3)
    put(f"{C}/harbor.test/hosts.toml", '[host."https://harbor.test"]\n  ca = "old.pem"\n')
    plan = plan_of(ContainerdTarget(), bundle, ctx())
    assert [w.path.name for w in plan.writes] == ["ca.crt"]
    assert len(plan.warnings) == 1 and "ca.crt" in plan.warnings[0]


def test_broken_hosts_toml_is_an_error(ctx, bundle, plan_of, put) -> None:
    put(f"{C}/harbor.test/hosts.toml", "server = \n")
    with pytest.raises(InputError, match=r"hosts\.toml is not valid TOML"):
        plan_of(ContainerdTarget(), bundle, ctx())


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (None, "does not exist"),
        ("version = 3\n", 'plugins."io.containerd.cri.v1.images".registry'),
        ("version = 2\n", 'plugins."io.containerd.grpc.v1.cri".registry'),
        (
            '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/srv/hosts"\n',
            "leaves out /etc/containerd/certs.d",
        ),
        ("version = [\n", "is not valid TOML"),
    ],
)
def test_config_path_warnings(ctx, bundle, plan_of, put, config, fragment) -> None:
    if config is not None:
        put("/etc/containerd/config.toml", config)
    plan = plan_of(ContainerdTarget(), bundle, ctx())
    assert len(plan.warnings) == 1
    assert "/etc/containerd/config.toml" in plan.warnings[0]
    assert fragment in plan.warnings[0]


@pytest.mark.parametrize("config", [V2, V3])
def test_config_path_set_gives_no_warning(ctx, bundle, plan_of, put, config) -> None:
    put("/etc/containerd/config.toml", config)
    assert plan_of(ContainerdTarget(), bundle, ctx()).warnings == ()


CLIENT = {"client": [["client.cert", "client.key"]]}


@pytest.mark.parametrize("client_only", [False, True])
def test_client_bundle_writes_pair_and_client_line(
    ctx, bundle, client_bundle, plan_of, put, client_only
) -> None:
    put("/etc/containerd/config.toml", V3)
    context = ctx(port=8443, client_bundle=client_bundle, client_only=client_only)
    plan = plan_of(ContainerdTarget(), bundle, context)
    writes = {str(w.path): w for w in plan.writes}
    folder = f"{C}/harbor.test:8443"
    assert list(writes) == [
        f"{folder}/ca.crt",
        f"{folder}/client.cert",
        f"{folder}/client.key",
        f"{folder}/hosts.toml",
    ]
    assert writes[f"{folder}/client.cert"].content == client_bundle.fullchain_pem
    key = writes[f"{folder}/client.key"]
    assert key.content == client_bundle.private_key_pem and key.secret and key.mode == 0o600
    assert writes[f"{folder}/ca.crt"].dir_mode == 0o700
    data = tomllib.loads(writes[f"{folder}/hosts.toml"].content.decode())
    assert data["host"]["https://harbor.test:8443"] == {
        "capabilities": ["pull", "resolve", "push"],
        "ca": "ca.crt",
        **CLIENT,
    }
    assert plan.warnings == ()


def test_server_bundle_as_client_refused(ctx, bundle, plan_of) -> None:
    with pytest.raises(InputError, match="clientAuth"):
        plan_of(ContainerdTarget(), bundle, ctx(client_bundle=bundle))


def test_client_line_is_added_to_our_existing_table(
    ctx, bundle, client_bundle, plan_of, put
) -> None:
    put("/etc/containerd/config.toml", V2)
    user = (
        'server = "https://harbor.test"\n\n[host."https://harbor.test"]\n'
        '  capabilities = ["pull", "resolve", "push"]\n  ca = "ca.crt"\n'
    )
    put(f"{C}/harbor.test/hosts.toml", user)
    plan = plan_of(ContainerdTarget(), bundle, ctx(client_bundle=client_bundle))
    text = _writes(plan)[f"{C}/harbor.test/hosts.toml"].decode()
    assert tomllib.loads(text)["host"]["https://harbor.test"]["client"] == CLIENT["client"]
    assert text.replace('  client = [["client.cert", "client.key"]]\n', "") == user
    assert plan.warnings == ()
    # Run again on the result: nothing more to change.
    put(f"{C}/harbor.test/hosts.toml", text)
    again = plan_of(ContainerdTarget(), bundle, ctx(client_bundle=client_bundle))
    assert f"{C}/harbor.test/hosts.toml" not in _writes(again)


def test_table_without_ca_gets_ca_and_client(ctx, bundle, client_bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V3)
    put(f"{C}/harbor.test/hosts.toml", '[host."https://harbor.test"]\n  capabilities = ["pull"]\n')
    plan = plan_of(ContainerdTarget(), bundle, ctx(client_bundle=client_bundle))
    data = tomllib.loads(_writes(plan)[f"{C}/harbor.test/hosts.toml"].decode())
    assert data["host"]["https://harbor.test"] == {
        "capabilities": ["pull"],
        "ca": "ca.crt",
        **CLIENT,
    }


def test_other_client_setting_is_left_alone(ctx, bundle, client_bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V3)
    put(
        f"{C}/harbor.test/hosts.toml",
        '[host."https://harbor.test"]\n  ca = "ca.crt"\n  client = [["mine.cert", "mine.key"]]\n',
    )
    plan = plan_of(ContainerdTarget(), bundle, ctx(client_bundle=client_bundle))
    assert [w.path.name for w in plan.writes] == ["ca.crt", "client.cert", "client.key"]
    assert len(plan.warnings) == 1
    assert 'client = [["client.cert", "client.key"]]' in plan.warnings[0]


def test_no_client_line_without_a_client_bundle(ctx, bundle, plan_of, put) -> None:
    put("/etc/containerd/config.toml", V3)
    text = _writes(plan_of(ContainerdTarget(), bundle, ctx()))[f"{C}/harbor.test/hosts.toml"]
    assert "client" not in tomllib.loads(text.decode())["host"]["https://harbor.test"]


def test_config_path_warning_stays_with_a_client_bundle(ctx, bundle, client_bundle, plan_of):
    plan = plan_of(ContainerdTarget(), bundle, ctx(client_bundle=client_bundle))
    assert len(plan.warnings) == 1
    assert 'config_path = "/etc/containerd/certs.d"' in plan.warnings[0]


def test_options_none_or_empty_are_fine_anything_else_is_a_config_error() -> None:
    ContainerdTarget()
    ContainerdTarget({})
    with pytest.raises(ConfigError, match="unknown option 'server_pair'") as info:
        ContainerdTarget({"server_pair": True})
    assert info.value.exit_code == 2
