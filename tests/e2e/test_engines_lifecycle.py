"""Engines across a renewal, a rollback and an OS trust store change (issue 12).

Renewal and rollback never restart a daemon: the engines re-read their folders on every
connection and keep working with the new (then the old) certificate. A CA that only reaches
dockerd through the (sandboxed) system bundle works only after the restart tlsprov plans.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_engines as E
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e


def _served(port: int, ca: Path) -> bytes:
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="harbor.test") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def _leaf_der(pem_path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem_path.read_bytes()).public_bytes(Encoding.DER)


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, S.describe(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _all_work(world: Any, port: int) -> None:
    failed = world.roundtrip_all("harbor.test", port)
    assert not failed, failed


def test_renew_and_rollback_keep_every_engine_working(engines: Any, tmp_path: Path) -> None:
    box, port = engines.box, S.free_port()
    config = tmp_path / "tlsprov.toml"
    config.write_text(
        f"""[harbor]
hostname = "harbor.test"
https_port = {port}
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{engines.issued.ca_dir}"
key_type = "ec256"

[install]
root = "{box.root}"
targets = ["harbor", "docker", "containerd", "podman"]
connect = "127.0.0.1:{port}"
""",
        encoding="utf-8",
    )
    first = _json(box.tlsprov("provision", "--config", str(config), "--no-verify", "--json"))
    assert first["issued"] is True
    old_leaf = _leaf_der(box.path("/data/cert/harbor.test.crt"))
    include = box.harbor / "common" / "config" / "nginx" / "nginx.conf"
    proc = E.start_nginx(tmp_path / "nginx", engines.registry, [(port, include, None)])
    try:
        pidfile = tmp_path / "nginx.pid"
        pidfile.write_text(str(proc.pid), encoding="utf-8")
        reload = {"TLSPROV_TEST_NGINX_PIDFILE": str(pidfile)}
        ca = engines.folder("docker", "harbor.test", port) / "ca.crt"
        dockerd = engines.engines.procs["dockerd"].pid
        assert _served(port, ca) == old_leaf
        _all_work(engines, port)

        renewed = _json(box.tlsprov("renew", "--config", str(config), "--force", "--json",
                                    **reload))  # fmt: skip
        assert renewed["renewed"] is True and renewed["verified"] is True
        new_leaf = _leaf_der(box.path("/data/cert/harbor.test.crt"))
        assert new_leaf != old_leaf and _served(port, ca) == new_leaf
        _all_work(engines, port)  # the engines see the new certificate, no daemon restart
        assert engines.engines.procs["dockerd"].pid == dockerd
        assert engines.engines.procs["dockerd"].poll() is None

        rolled = box.tlsprov("rollback", "--root", str(box.root), **reload)
        assert rolled.returncode == 0, S.describe(rolled)
        assert _served(port, ca) == old_leaf
        _all_work(engines, port)
        assert engines.engines.procs["dockerd"].pid == dockerd
    finally:
        S.stop_process(proc)


def test_os_trust_reaches_dockerd_only_after_the_planned_restart(engines: Any) -> None:
    bundle = engines.box.path("/etc/ssl/certs/ca-certificates.crt")
    # dockerd loads the system roots once; a first registry call makes it do so now.
    primed = engines.login("docker", "harbor.test", "plain")
    assert "x509: certificate signed by unknown authority" in primed.output, primed

    engines.install("harbor.test", "plain", "--client-only", "--targets", "os-trust,docker")
    assert engines.box.records() == [["update-ca-certificates"], ["systemctl", "restart", "docker"]]
    ca = engines.issued.ca_cert.read_bytes().strip()
    assert ca in bundle.read_bytes()  # the real update-ca-certificates, inside the sandbox
    shutil.rmtree(engines.folder("docker", "harbor.test", "plain"))  # only the bundle is left

    before = engines.login("docker", "harbor.test", "plain")
    assert "x509: certificate signed by unknown authority" in before.output, before

    engines.engines.restart_dockerd()  # what the planned 'systemctl restart docker' does
    after = engines.login("docker", "harbor.test", "plain")
    assert after.returncode == 0, after
