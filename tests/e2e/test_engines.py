"""Docker Engine, containerd and podman read what ``tlsprov install`` wrote (issue 12).

Each engine only ever sees the folders tlsprov wrote into the session host root: dockerd
reads its certs.d through a bind mount, ctr gets ``--hosts-dir`` of containerd's folder,
podman ``--cert-dir`` of the folder the podman target wrote.
"""

from __future__ import annotations

import shutil
import socket
from typing import Any

import pytest
import tlsprov_e2e_engines as E
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e

TARGETS = "docker,containerd,podman"


def _install(world: Any, host: str, port: str, mode: str, *extra: str) -> None:
    if mode == "full":
        world.install(host, port, "--targets", f"harbor,{TARGETS}", *extra)
    else:
        world.install(host, port, "--client-only", "--targets", TARGETS, *extra)


@pytest.mark.parametrize("mode", ["full", "client-only"])
@pytest.mark.parametrize("host", E.HOSTS)
def test_login_push_pull_plain_and_mtls(engines: Any, host: str, mode: str) -> None:
    client = ("--client-bundle", str(engines.client))
    _install(engines, host, "plain", mode)
    _install(engines, host, "mtls", mode, *client)

    for port, names in (("plain", ["ca.crt"]), ("mtls", ["ca.crt", "client.cert", "client.key"])):
        for engine in ("docker", "podman"):
            folder = engines.folder(engine, host, port)
            assert sorted(p.name for p in folder.iterdir()) == names, folder
        hosts = engines.folder("containerd", host, port)
        assert sorted(p.name for p in hosts.iterdir()) == sorted([*names, "hosts.toml"])
    hosts_toml = (engines.folder("containerd", host, "mtls") / "hosts.toml").read_text()
    assert 'client = [["client.cert", "client.key"]]' in hosts_toml

    for port in ("plain", "mtls"):
        failed = engines.roundtrip_all(host, port)
        assert not failed, failed
    access = (engines.nginx_prefix / "access.log").read_text()
    assert 'verify=SUCCESS dn="CN=client1"' in access
    assert f"sni={host}" in access


@pytest.mark.parametrize("engine", E.ENGINES)
def test_without_the_folder_the_ca_is_unknown(engines: Any, engine: str) -> None:
    _install(engines, "harbor.test", "plain", "client-only")
    for name in E.ENGINES:
        shutil.rmtree(engines.folder(name, "harbor.test", "plain"))
    step = engines.login(engine, "harbor.test", "plain")
    assert step.returncode != 0
    assert "x509: certificate signed by unknown authority" in step.output, step


@pytest.mark.parametrize("engine", E.ENGINES)
def test_cn_only_certificate_is_refused(engines: Any, engine: str) -> None:
    _install(engines, "harbor.test", "cn", "client-only")
    step = engines.login(engine, "harbor.test", "cn")
    assert step.returncode != 0
    assert "x509: certificate relies on legacy Common Name field" in step.output, step


@pytest.mark.parametrize("engine", E.ENGINES)
def test_mtls_with_the_ca_only_is_400(engines: Any, engine: str) -> None:
    _install(engines, "aaa.test", "mtls", "client-only")
    step = engines.login(engine, "aaa.test", "mtls")
    assert step.returncode != 0
    assert "400" in step.output, step


def test_the_guide_layout_beside_a_client_pair_breaks_docker_for_aaa(engines: Any) -> None:
    """Why the docker target no longer copies the server pair: Docker offers aaa.test.cert
    (sorted before client.cert) as its client certificate and the mTLS Harbor answers 400."""
    _install(engines, "aaa.test", "mtls", "client-only", "--client-bundle", str(engines.client))
    assert not E.failures([engines.login("docker", "aaa.test", "mtls")])
    folder = engines.folder("docker", "aaa.test", "mtls")
    shutil.copyfile(engines.server / "harbor.test.cert", folder / "aaa.test.cert")
    shutil.copyfile(engines.server / "harbor.test.key", folder / "aaa.test.key")
    step = engines.login("docker", "aaa.test", "mtls")
    assert step.returncode != 0 and "400" in step.output, step


def test_loopback_proves_nothing_for_dockerd(engines: Any) -> None:
    """The trap the harness avoids: by 127.0.0.1 dockerd logs in with no CA at all, even on the
    CN-only port, because it treats 127.0.0.0/8 as insecure and skips verification."""
    assert not any((engines.box.root / "etc/docker/certs.d").iterdir())
    for port in ("plain", "cn"):
        step = engines.login("docker", "127.0.0.1", port)
        assert step.returncode == 0, step
    named = engines.login("docker", "harbor.test", "plain")
    assert "x509: certificate signed by unknown authority" in named.output, named


def test_proxy_tunnels_only_the_test_names(engines: Any) -> None:
    proxy = engines.proxy
    engines.login("docker", "aaa.test", "plain")
    assert any(t.startswith(("harbor.test:", "aaa.test:")) for t in proxy.tunnels)
    assert not any(t.startswith("127.") or "localhost" in t for t in proxy.tunnels)
    port = int(proxy.url.rsplit(":", 1)[1])
    for request, status in ((b"CONNECT example.com:443 HTTP/1.1\r\n\r\n", b" 403 "),
                            (b"GET http://harbor.test/ HTTP/1.1\r\n\r\n", b" 405 ")):  # fmt: skip
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(request)
            assert status in conn.recv(200)
    assert "example.com:443" in proxy.refused


def test_nothing_was_created_outside_the_sandbox(engines: Any) -> None:
    """dockerd's key.json and plugin folder, podman's network lock and containerd's state stay
    in the sandbox while every engine runs."""
    _install(engines, "harbor.test", "plain", "client-only")
    failed = engines.roundtrip_all("harbor.test", "plain")
    assert not failed, failed
    assert E.outside_state() == engines.outside_before
    assert (engines.box.root / "etc" / "docker" / "key.json").is_file()


def test_server_pair_option_keeps_the_guides_layout_working_without_mtls(engines: Any) -> None:
    """``server_pair = true`` (through the library, as ``[targets.docker]`` would pass it):
    the guide's HOST.cert/HOST.key beside ca.crt, and Docker and podman still work on the
    plain port. Beside a client pair the same option is refused before anything is written."""
    from tlsprov.errors import InputError
    from tlsprov.install.engine import apply_install
    from tlsprov.install.planning import plan_install
    from tlsprov.install.targets.docker import DockerTarget
    from tlsprov.install.targets.podman import PodmanTarget
    from tlsprov.models import InstallContext
    from tlsprov.pki.bundleio import read_bundle
    from tlsprov.plugins.hookspecs import hookimpl
    from tlsprov.plugins.specs import TargetSpec
    from tlsprov.testing import registry_with

    class GuideLayout:
        @hookimpl
        def tlsprov_register_targets(self) -> list[TargetSpec]:
            options = {"server_pair": True}
            return [TargetSpec(name="docker", factory=lambda: DockerTarget(options)),
                    TargetSpec(name="podman", factory=lambda: PodmanTarget(options))]  # fmt: skip

    registry = registry_with(GuideLayout())
    bundle = read_bundle(engines.server)
    context = InstallContext(root=engines.box.root, host="harbor.test", port=engines.ports["plain"])
    plan = plan_install(bundle, context, ["docker", "podman"], registry=registry)
    apply_install(plan, state_dir=engines.box.root / "var/lib/tlsprov")
    for engine in ("docker", "podman"):
        names = sorted(p.name for p in engines.folder(engine, "harbor.test", "plain").iterdir())
        assert names == ["ca.crt", "harbor.test.cert", "harbor.test.key"]
        steps = engines.roundtrip(engine, "harbor.test", "plain")
        assert not E.failures(steps), E.failures(steps)

    client = read_bundle(engines.client)
    mtls = InstallContext(root=engines.box.root, host="aaa.test", port=engines.ports["mtls"],
                          client_bundle=client)  # fmt: skip
    before = S.snapshot(engines.box.root)
    with pytest.raises(InputError, match=r"two \.cert/\.key pairs"):
        plan_install(bundle, mtls, ["docker"], registry=registry)
    assert S.snapshot(engines.box.root) == before
