"""Docker Engine, containerd and podman read what ``tlsprov install`` wrote (issue 12).

Each engine only ever sees the folders tlsprov wrote into the session host root: dockerd
reads its certs.d through a bind mount, ctr gets ``--hosts-dir`` of containerd's folder,
podman ``--cert-dir`` of the folder the podman target wrote.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
import tlsprov_e2e_engines as E

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
    if engine == "podman":  # --cert-dir must name an existing folder: an empty one
        engines.folder("podman", "harbor.test", "plain").mkdir()
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
