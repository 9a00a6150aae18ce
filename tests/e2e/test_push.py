"""Issue → install → nginx from what prepare rendered → skopeo push → verify; and the refusals."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ruamel.yaml import YAML

pytestmark = pytest.mark.e2e

HARBOR_COMMANDS = [
    ["prepare"],
    ["docker", "compose", "down", "-v"],
    ["docker", "compose", "up", "-d"],
]


def test_issue_install_push_verify(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    box = sandbox("debian")
    port = S.free_port()
    result = box.install(
        issued.server, port, "--targets", "harbor,docker,os-trust", "--harbor-dir", "/opt/harbor"
    )
    assert result.returncode == 0, S.describe(result)

    config = YAML(typ="safe").load((box.harbor / "harbor.yml").read_text())
    assert config["hostname"] == S.HOST
    assert config["https"]["port"] == port
    cert_host_path = config["https"]["certificate"]
    assert box.path(cert_host_path).read_bytes() == (issued.server / "harbor.test.crt").read_bytes()
    assert box.path(config["https"]["private_key"]).stat().st_mode & 0o777 == 0o600

    # The test prepare consumed that harbor.yml: nginx serves the copy it made.
    state = json.loads((box.harbor / "common/config/prepare.json").read_text())
    assert state == {
        "hostname": S.HOST, "data_volume": "/data", "with_trivy": False, "protocol": "https",
        "https_port": port, "certificate": cert_host_path,
        "private_key": config["https"]["private_key"],
    }  # fmt: skip
    rendered = box.harbor / "common/config/nginx/nginx.conf"
    assert f"ssl_certificate {box.root}/data/secret/cert/server.crt;" in rendered.read_text()
    server = nginx(rendered, port=port)

    certs_d = box.certs_d(port)
    # Only the CA: Harbor's server pair stays out of certs.d (issue 12, server_pair option).
    assert sorted(p.name for p in certs_d.iterdir()) == ["ca.crt"]
    assert (certs_d / "ca.crt").read_bytes() == issued.ca_cert.read_bytes()
    pushed = skopeo.push(port, cert_dir=certs_d, repo="e2e/push")
    assert pushed.returncode == 0, pushed.stderr + server.error_log()
    assert S.registry_tags(registry, "e2e/push") == ["v1"]

    anchor = box.path("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt")
    assert anchor.read_bytes() == issued.ca_cert.read_bytes()

    calls = box.records()
    assert any(calls[i : i + 3] == HARBOR_COMMANDS for i in range(len(calls))), calls
    assert calls.count(["update-ca-certificates"]) == 1, calls
    restart = ["systemctl", "restart", "docker"]
    assert calls.count(restart) == 1, calls
    assert calls.index(["update-ca-certificates"]) < calls.index(restart), calls
    assert len(calls) == 5, calls
    prepare_call = next(r for r in box.raw_records() if r["argv"][0] == "prepare")
    assert prepare_call["cwd"] == str(box.harbor)

    verify = box.tlsprov(
        "verify", f"{S.HOST}:{port}", "--ca", str(certs_d / "ca.crt"),
        "--connect", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert verify.returncode == 0, S.describe(verify)
    as_json = box.tlsprov(
        "verify", f"{S.HOST}:{port}", "--ca", str(certs_d / "ca.crt"),
        "--connect", f"127.0.0.1:{port}", "--json",
    )  # fmt: skip
    assert as_json.returncode == 0, S.describe(as_json)
    assert json.loads(as_json.stdout)["ok"] is True

    # Negative control: the same check trusting another CA fails.
    other = S.Issued(tmp_path / "other")
    made = S.run_tlsprov(
        ["ca", "init", "--ca-dir", str(other.ca_dir), "--key-type", "ec256"], other.env
    )
    assert made.returncode == 0, S.describe(made)
    wrong = box.tlsprov(
        "verify", f"{S.HOST}:{port}", "--ca", str(other.ca_dir / "ca.crt"),
        "--connect", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert wrong.returncode == 1, S.describe(wrong)


def test_without_ca_crt_skopeo_fails_unknown_authority(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    box = sandbox(harbor_yml=None)
    port = S.free_port()
    result = box.install(issued.server, port, "--client-only", "--targets", "docker")
    assert result.returncode == 0, S.describe(result)
    tls = S.tls_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key"
    )
    nginx(tls, port=port)
    lacking = tmp_path / "lacking"
    shutil.copytree(box.certs_d(port), lacking)
    (lacking / "ca.crt").unlink()

    refused = skopeo.push(port, cert_dir=lacking, repo="e2e/no-ca")
    assert refused.returncode != 0
    assert "x509: certificate signed by unknown authority" in refused.stderr
    assert S.registry_tags(registry, "e2e/no-ca") == []
    accepted = skopeo.push(port, cert_dir=box.certs_d(port), repo="e2e/no-ca")
    assert accepted.returncode == 0, accepted.stderr


def _cn_only_bundle(issued: Any, folder: Path) -> Path:
    """A serverAuth leaf for harbor.test with the name only in the CN, signed by the CA."""
    ca_cert = x509.load_pem_x509_certificate((issued.ca_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((issued.ca_dir / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, S.HOST)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    folder.mkdir(mode=0o700)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "harbor.test.crt").write_bytes(pem)
    (folder / "harbor.test.cert").write_bytes(pem)
    (folder / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "harbor.test.key").write_bytes(key_pem)
    (folder / "harbor.test.key").chmod(0o600)
    return folder


def test_cn_only_certificate_is_refused_and_nothing_changes(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, tmp_path: Path
) -> None:
    bundle = _cn_only_bundle(issued, tmp_path / "cn-only")
    # Go clients refuse it (the reason tlsprov must): skopeo trusting the CA still fails.
    port = S.free_port()
    nginx(
        S.tls_include(tmp_path, bundle / "harbor.test.crt", bundle / "harbor.test.key"), port=port
    )
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    shutil.copy(bundle / "ca.crt", trusted / "ca.crt")
    go = skopeo.push(port, cert_dir=trusted, repo="e2e/cn-only")
    assert go.returncode != 0
    assert "legacy Common Name field" in go.stderr

    box = sandbox("debian")
    before = box.snapshot()
    result = box.install(
        bundle, port, "--targets", "harbor,docker,os-trust", "--harbor-dir", "/opt/harbor"
    )
    assert result.returncode == 2, S.describe(result)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert "common name" in errors[0].lower() or "SAN" in errors[0], errors[0]
    assert box.snapshot() == before, S.snapshot_diff(before, box.snapshot())
    assert box.raw_records() == []
