"""A Let's Encrypt-style certificate from a real Pebble through the same path as the private CA:
config-driven provision (http-01 on loopback) → harbor.yml, /data/cert, certs.d, OS trust →
nginx → skopeo push → tlsprov verify, with ca.crt = Pebble's root."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e


def test_acme_certificate_provisioned_pushed_and_verified(
    sandbox: Any, nginx: Any, skopeo: Any, registry: int, pebble: Any, tmp_path: Path
) -> None:
    box = sandbox("debian")
    port = S.free_port()
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.root_pem())
    config = box.base / "tlsprov.toml"
    config.write_text(
        f"""
[harbor]
hostname = "harbor.test"
https_port = {port}
install_dir = "/opt/harbor"

[provider]
name = "letsencrypt"

[provider.letsencrypt]
directory = "{pebble.directory}"
ca_bundle = "{pebble.listener.ca}"
agree_tos = true
account_dir = "{tmp_path / "account"}"
challenge = "http-01"
http_address = "127.0.0.1"
http_port = {pebble.http_port}
root_ca = "{root}"
timeout = 60

[install]
root = "{box.root}"
targets = ["harbor", "docker", "os-trust"]
verify = false
""",
        encoding="utf-8",
    )
    result = box.tlsprov("provision", "--config", str(config), "--json")
    assert result.returncode == 0, S.describe(result)
    doc = json.loads(result.stdout)
    assert doc["issued"] is True and doc["provider"] == "letsencrypt"

    certs_d = box.certs_d(port)
    assert (certs_d / "ca.crt").read_bytes().strip() == root.read_bytes().strip()
    served = box.path("/data/cert/harbor.test.crt").read_bytes()
    assert served.count(b"BEGIN CERTIFICATE") == 2  # leaf + Pebble's intermediate
    anchor = box.path("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt")
    assert anchor.read_bytes().strip() == root.read_bytes().strip()

    server = nginx(box.harbor / "common/config/nginx/nginx.conf", port=port)
    pushed = skopeo.push(port, cert_dir=certs_d, repo="e2e/acme")
    assert pushed.returncode == 0, pushed.stderr + server.error_log()
    assert S.registry_tags(registry, "e2e/acme") == ["v1"]

    verify = box.tlsprov(
        "verify", f"harbor.test:{port}", "--ca", str(certs_d / "ca.crt"),
        "--connect", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert verify.returncode == 0, S.describe(verify)
    assert verify.stdout.startswith("OK")

    # Negative control: Pebble's root is what makes it work; another CA fails.
    other = box.tlsprov(
        "verify", f"harbor.test:{port}", "--ca", str(pebble.listener.ca),
        "--connect", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert other.returncode == 1

    # The same config drives the rest of the lifecycle with the ACME provider.
    dry = box.tlsprov("provision", "--config", str(config), "--dry-run")
    assert dry.returncode == 0, S.describe(dry)
    assert "nothing was changed" in dry.stdout
    renewed = box.tlsprov("renew", "--config", str(config), "--force", "--json")
    assert renewed.returncode == 0, S.describe(renewed)
    renewed_doc = json.loads(renewed.stdout)
    assert renewed_doc["renewed"] is True
    assert renewed_doc["certificate"]["serial"] != doc["certificate"]["serial"]
    assert renewed_doc["certificate"]["version"] == 2
    not_due = box.tlsprov("renew", "--config", str(config), "--json")
    assert json.loads(not_due.stdout)["renewed"] is False  # Pebble has no ARI: the window rules
    status = box.tlsprov("status", "--config", str(config), "--json")
    (entry,) = json.loads(status.stdout)["certificates"]
    assert entry["provider"] == "letsencrypt" and entry["version"] == 2
    assert entry["last_action"] == "renew" and entry["last_outcome"] == "ok"
    new_leaf = box.path("/data/cert/harbor.test.crt").read_bytes()
    assert new_leaf != served
    undo = box.tlsprov("rollback", "--root", str(box.root))
    assert undo.returncode == 0, S.describe(undo)
    assert box.path("/data/cert/harbor.test.crt").read_bytes() == served
