"""The docker target: certs.d layout, port rule, client pairs, warnings, restart."""

from __future__ import annotations

import dataclasses

import pytest

from tlsprov.errors import ConfigError, InputError
from tlsprov.install.targets.docker import DockerTarget
from tlsprov.models import CommandStep

D = "/etc/docker/certs.d"


def _paths(plan) -> list[str]:
    return [str(w.path) for w in plan.writes]


@pytest.mark.parametrize(
    ("port", "folder"), [(443, "harbor.test"), (8443, "harbor.test:8443"), (80, "harbor.test:80")]
)
def test_port_rule(ctx, bundle, plan_of, port, folder) -> None:
    plan = plan_of(DockerTarget(), bundle, ctx(port=port, client_only=True))
    assert _paths(plan) == [f"{D}/{folder}/ca.crt"]


def test_ipv6_folder(ctx, bundle, plan_of) -> None:
    plan = plan_of(DockerTarget(), bundle, ctx(host="::1", port=8443, client_only=True))
    assert _paths(plan) == [f"{D}/[::1]:8443/ca.crt"]


def test_harbor_host_writes_only_the_ca_by_default(ctx, bundle, plan_of) -> None:
    # Spec change (issue 12): Harbor's server pair no longer goes into certs.d by default;
    # Docker would offer it as a client certificate (file-name order) to an mTLS Harbor.
    plan = plan_of(DockerTarget(), bundle, ctx())
    assert _paths(plan) == [f"{D}/harbor.test/ca.crt"]
    (ca,) = plan.writes
    assert ca.content == bundle.ca_pem and ca.mode == 0o644 and not ca.secret
    assert ca.dir_mode == 0o755
    assert plan.warnings == ()
    assert any("server pair is not copied" in n and "server_pair" in n for n in plan.notes)


def test_server_pair_option_writes_the_guide_layout(ctx, bundle, plan_of) -> None:
    plan = plan_of(DockerTarget({"server_pair": True}), bundle, ctx())
    writes = {str(w.path): w for w in plan.writes}
    assert list(writes) == [
        f"{D}/harbor.test/harbor.test.cert",
        f"{D}/harbor.test/harbor.test.key",
        f"{D}/harbor.test/ca.crt",
    ]
    cert, key, ca = writes.values()
    assert cert.content == bundle.fullchain_pem and cert.mode == 0o644
    assert key.content == bundle.private_key_pem and key.mode == 0o600 and key.secret
    assert ca.content == bundle.ca_pem and ca.mode == 0o644 and not ca.secret
    assert all(w.description for w in plan.writes)
    assert plan.warnings == ()
    assert any("client certificate" in n for n in plan.notes)


def test_server_pair_is_not_written_on_a_client_host(ctx, bundle, plan_of) -> None:
    plan = plan_of(DockerTarget({"server_pair": True}), bundle, ctx(client_only=True))
    assert _paths(plan) == [f"{D}/harbor.test/ca.crt"]


@pytest.mark.parametrize("client_only", [False, True])
def test_server_pair_false_with_client_pair(ctx, bundle, client_bundle, plan_of, client_only):
    context = ctx(host="aaa.test", client_only=client_only, client_bundle=client_bundle)
    plan = plan_of(DockerTarget({"server_pair": False}), bundle, context)
    assert _paths(plan) == [f"{D}/aaa.test/{n}" for n in ("ca.crt", "client.cert", "client.key")]
    assert plan.warnings == ()


def test_server_pair_with_client_pair_is_refused(ctx, bundle, client_bundle, plan_of) -> None:
    target = DockerTarget({"server_pair": True})
    with pytest.raises(InputError, match=r"two \.cert/\.key pairs") as info:
        plan_of(target, bundle, ctx(client_bundle=client_bundle))
    assert "file-name order" in info.value.message
    assert "[targets.docker]" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"server_pair": "yes"}, "server_pair must be true or false"),
        ({"server_pair": 1}, "server_pair must be true or false"),
        ({"serverpair": True}, "unknown option 'serverpair'"),
    ],
)
def test_bad_options_are_config_errors(options, fragment) -> None:
    with pytest.raises(ConfigError, match=fragment) as info:
        DockerTarget(options)
    assert info.value.exit_code == 2


def test_leftover_guide_pair_is_called_out(ctx, bundle, client_bundle, plan_of, put) -> None:
    put(f"{D}/aaa.test/aaa.test.cert", "c")
    put(f"{D}/aaa.test/aaa.test.key", "k", 0o600)
    plan = plan_of(DockerTarget(), bundle, ctx(host="aaa.test", client_bundle=client_bundle))
    assert len(plan.warnings) == 1
    warning = plan.warnings[0]
    assert f"{D}/aaa.test/aaa.test.cert and aaa.test.key" in warning
    assert "file-name order" in warning and "mutual TLS fails" in warning
    # With server_pair the same files are the planned ones: nothing to call out.
    plain = plan_of(DockerTarget({"server_pair": True}), bundle, ctx(host="aaa.test"))
    assert plain.warnings == ()


def test_client_only_writes_only_ca(ctx, bundle, plan_of) -> None:
    plan = plan_of(DockerTarget(), bundle, ctx(client_only=True))
    assert _paths(plan) == [f"{D}/harbor.test/ca.crt"]
    assert plan.writes[0].content == bundle.ca_pem


def test_client_only_with_client_pair(ctx, bundle, client_bundle, plan_of) -> None:
    plan = plan_of(DockerTarget(), bundle, ctx(client_only=True, client_bundle=client_bundle))
    writes = {str(w.path): w for w in plan.writes}
    assert list(writes) == [
        f"{D}/harbor.test/ca.crt",
        f"{D}/harbor.test/client.cert",
        f"{D}/harbor.test/client.key",
    ]
    assert writes[f"{D}/harbor.test/client.cert"].content == client_bundle.fullchain_pem
    key = writes[f"{D}/harbor.test/client.key"]
    assert key.content == client_bundle.private_key_pem and key.secret and key.mode == 0o600
    assert plan.warnings == ()


@pytest.mark.parametrize("eku", [True, False])
def test_client_bundle_without_client_auth_refused(ctx, bundle, bundle_for, plan_of, eku) -> None:
    server_only = bundle_for("ci-runner", eku=eku)
    with pytest.raises(InputError, match="clientAuth"):
        plan_of(DockerTarget(), bundle, ctx(client_only=True, client_bundle=server_only))


def test_lone_key_and_cert_warnings(ctx, bundle, plan_of, put) -> None:
    put(f"{D}/harbor.test/old.key", "k", 0o600)
    put(f"{D}/harbor.test/ca.cert", "c")
    plan = plan_of(DockerTarget(), bundle, ctx(client_only=True))
    assert len(plan.warnings) == 2
    key_warning, cert_warning = plan.warnings
    assert f"{D}/harbor.test/old.key has no old.cert" in key_warning
    assert "fails for the whole folder" in key_warning
    assert f"{D}/harbor.test/ca.cert has no ca.key" in cert_warning
    assert ".crt" in cert_warning


def test_planned_partner_silences_the_warning(ctx, bundle, plan_of, put) -> None:
    # A leftover harbor.test.key from the guide: with server_pair the plan writes its .cert.
    put(f"{D}/harbor.test/harbor.test.key", "k", 0o600)
    assert plan_of(DockerTarget({"server_pair": True}), bundle, ctx()).warnings == ()
    # By default (and on a client host) nothing writes the .cert, so the stray key is reported.
    for context in (ctx(), ctx(client_only=True)):
        warnings = plan_of(DockerTarget(), bundle, context).warnings
        assert len(warnings) == 1 and "harbor.test.key has no harbor.test.cert" in warnings[0]


def test_ignored_extensions_warn(ctx, bundle, plan_of, put) -> None:
    put(f"{D}/harbor.test/ca.pem", "x")
    put(f"{D}/harbor.test/harbor.test.cer", "x")
    put(f"{D}/harbor.test/README", "x")
    warnings = plan_of(DockerTarget(), bundle, ctx(client_only=True)).warnings
    assert len(warnings) == 2
    assert all("is ignored by Docker" in w for w in warnings)
    assert any("ca.pem" in w for w in warnings) and any("harbor.test.cer" in w for w in warnings)


def test_user_files_are_never_deleted(ctx, bundle, plan_of, put) -> None:
    put(f"{D}/harbor.test/extra.crt", "x")
    plan = plan_of(DockerTarget(), bundle, ctx())
    assert all(w.path.name != "extra.crt" for w in plan.writes)
    assert plan.warnings == ()


@pytest.mark.parametrize(
    ("entries", "host", "port", "hits"),
    [
        (["harbor.test"], "harbor.test", 443, 1),
        (["harbor.test:8443"], "harbor.test", 8443, 1),
        (["https://harbor.test:8443/"], "harbor.test", 8443, 1),
        (["harbor.test:5000", "other.test"], "harbor.test", 8443, 0),
        (["127.0.0.0/8"], "127.0.0.1", 443, 1),
        (["::1/128"], "::1", 8443, 1),
        (["10.0.0.0/8"], "127.0.0.1", 443, 0),
    ],
)
def test_insecure_registries(ctx, bundle, plan_of, put, entries, host, port, hits) -> None:
    import json

    put("/etc/docker/daemon.json", json.dumps({"insecure-registries": entries}))
    warnings = plan_of(DockerTarget(), bundle, ctx(host=host, port=port, client_only=True)).warnings
    listed = [w for w in warnings if "insecure-registries" in w]
    assert len(listed) == hits
    if hits:
        assert "/etc/docker/daemon.json" in listed[0]


def test_loopback_registry_is_called_out(ctx, bundle, plan_of) -> None:
    warnings = plan_of(DockerTarget(), bundle, ctx(host="127.0.0.1", client_only=True)).warnings
    assert any("loopback" in w for w in warnings)


def test_malformed_daemon_json_is_a_warning(ctx, bundle, plan_of, put) -> None:
    put("/etc/docker/daemon.json", "{not json")
    plan = plan_of(DockerTarget(), bundle, ctx(client_only=True))
    assert len(plan.warnings) == 1
    assert "/etc/docker/daemon.json is not valid JSON" in plan.warnings[0]


def test_no_restart_by_default(ctx, bundle, plan_of) -> None:
    plan = plan_of(DockerTarget(), bundle, ctx())
    assert plan.commands == ()
    assert any("no Docker restart needed" in n for n in plan.notes)


@pytest.mark.parametrize(
    ("flags", "why"),
    [({"os_trust_changed": True}, "trust store"), ({"restart_docker": True}, "you asked")],
)
def test_restart_when_trust_changed_or_asked(ctx, bundle, plan_of, flags, why) -> None:
    context = dataclasses.replace(ctx(client_only=True), **flags)
    plan = plan_of(DockerTarget(), bundle, context)
    assert plan.commands == (
        CommandStep(
            argv=("systemctl", "restart", "docker"), reason=plan.commands[0].reason, always=True
        ),
    )
    assert why in plan.commands[0].reason
    assert any(why in n for n in plan.notes)
