"""Mutual TLS: skopeo presents the client.cert/client.key pair the docker target wrote."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e


def test_client_pair_from_docker_target_passes_client_verification(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    client = issued.issue("client1", tmp_path / "client1", "--client")
    box = sandbox(harbor_yml=None)
    port = S.free_port()
    result = box.install(
        issued.server, port, "--client-only", "--client-bundle", str(client), "--targets", "docker"
    )
    assert result.returncode == 0, S.describe(result)

    certs_d = box.certs_d(port)
    assert sorted(p.name for p in certs_d.iterdir()) == ["ca.crt", "client.cert", "client.key"]
    assert (certs_d / "client.key").read_bytes() == (client / "client1.key").read_bytes()
    assert (certs_d / "client.key").stat().st_mode & 0o777 == 0o600
    assert (
        (certs_d / "client.cert")
        .read_bytes()
        .startswith((client / "client1.crt").read_bytes().split(b"-----END CERTIFICATE-----")[0])
    )
    assert box.raw_records() == []  # a client-only docker install restarts nothing

    tls = S.tls_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key"
    )
    server = nginx(tls, port=port, client_ca=issued.ca_cert)

    pushed = skopeo.push(port, cert_dir=certs_d, repo="e2e/mtls")
    assert pushed.returncode == 0, pushed.stderr + server.error_log()
    assert S.registry_tags(registry, "e2e/mtls") == ["v1"]
    assert "verify=SUCCESS" in server.access_log()
    assert "CN=client1" in server.access_log()

    ca_only = tmp_path / "ca-only"
    ca_only.mkdir()
    shutil.copy(certs_d / "ca.crt", ca_only / "ca.crt")
    refused = skopeo.push(port, cert_dir=ca_only, repo="e2e/mtls-refused")
    assert refused.returncode != 0
    assert "400 (Bad Request)" in refused.stderr
    assert S.registry_tags(registry, "e2e/mtls-refused") == []


def test_server_bundle_is_refused_as_client_bundle(issued: Any, sandbox: Any) -> None:
    box = sandbox(harbor_yml=None)
    before = box.snapshot()
    result = box.install(
        issued.server, 8443, "--client-only", "--client-bundle", str(issued.server),
        "--targets", "docker",
    )  # fmt: skip
    assert result.returncode == 2, S.describe(result)
    assert "client" in result.stderr.lower()
    assert box.snapshot() == before
