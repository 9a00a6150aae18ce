"""The port rule: ``harbor.test:<port>`` unless the port is 443, proven with skopeo's own lookup."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e


def _user_certs_d(home: Path, name: str, source: Path) -> Path:
    """Copy ``source`` to ``$HOME/.config/containers/certs.d/<name>`` (skopeo looks there first)."""
    folder = home / ".config" / "containers" / "certs.d" / name
    shutil.copytree(source, folder)
    return folder


def test_port_in_folder_name_exactly_when_not_443(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    port = S.free_port()
    assert port != 443
    box = sandbox(harbor_yml=None)
    with_port = box.install(issued.server, port, "--client-only", "--targets", "docker,podman")
    assert with_port.returncode == 0, S.describe(with_port)
    default = box.install(issued.server, 443, "--client-only", "--targets", "docker,podman")
    assert default.returncode == 0, S.describe(default)

    for tool in ("docker", "containers"):
        base = box.root / "etc" / tool / "certs.d"
        assert sorted(p.name for p in base.iterdir()) == [S.HOST, f"{S.HOST}:{port}"]
        for folder in base.iterdir():
            assert (folder / "ca.crt").read_bytes() == issued.ca_cert.read_bytes()
    assert box.certs_d(443).name == S.HOST

    tls = S.tls_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key"
    )
    nginx(tls, port=port)

    # skopeo finds $HOME/.config/containers/certs.d/harbor.test:<port>/ by itself ...
    home_ok = tmp_path / "home-ok"
    _user_certs_d(home_ok, f"{S.HOST}:{port}", box.certs_d(port))
    found = skopeo.push(port, home=home_ok, repo="e2e/port-rule")
    assert found.returncode == 0, found.stderr
    assert S.registry_tags(registry, "e2e/port-rule") == ["v1"]

    # ... but not a folder named without the port (what --port 443 wrote).
    home_bad = tmp_path / "home-bad"
    _user_certs_d(home_bad, S.HOST, box.certs_d(443))
    missed = skopeo.push(port, home=home_bad, repo="e2e/port-rule-missed")
    assert missed.returncode != 0
    assert "x509: certificate signed by unknown authority" in missed.stderr
