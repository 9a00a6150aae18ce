"""The harness itself: real nginx + registry + skopeo, the recording programs, the test prepare."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

pytestmark = pytest.mark.e2e


def test_skopeo_push_through_nginx_trusting_only_ca_crt(
    issued: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    port = S.free_port()
    tls = S.tls_include(
        tmp_path, issued.server / "harbor.test.crt", issued.server / "harbor.test.key"
    )
    nginx(tls, port=port)
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(issued.ca_cert, good / "ca.crt")
    pem_only = tmp_path / "pem-only"
    pem_only.mkdir()
    shutil.copy(issued.ca_cert, pem_only / "ca.pem")

    pushed = skopeo.push(port, cert_dir=good, repo="harness/img")
    assert pushed.returncode == 0, pushed.stderr
    assert "v1" in S.registry_tags(registry, "harness/img")

    for cert_dir in (None, pem_only):
        refused = skopeo.push(port, cert_dir=cert_dir, repo="harness/refused")
        assert refused.returncode != 0
        assert "x509: certificate signed by unknown authority" in refused.stderr
    assert S.registry_tags(registry, "harness/refused") == []


def test_recording_programs(sandbox: Any) -> None:
    box = sandbox(harbor_yml=None)

    def call(*argv: str, **env: str) -> int:
        return subprocess.run(list(argv), env={**box.env, **env}, timeout=30).returncode

    assert call("docker", "compose", "version") == 0
    assert call("docker", "compose", "version", TLSPROV_TEST_NO_COMPOSE_V2="1") == 1
    assert call("systemctl", "restart", "docker", TLSPROV_TEST_FAIL_SYSTEMCTL="4") == 4
    assert call("update-ca-certificates", TLSPROV_TEST_FAIL_UPDATE_CA_CERTIFICATES="5") == 5
    assert call("docker-compose", "up", "-d") == 0
    raw = box.raw_records()
    assert [r["argv"] for r in raw] == [
        ["docker", "compose", "version"],
        ["docker", "compose", "version"],
        ["systemctl", "restart", "docker"],
        ["update-ca-certificates"],
        ["docker-compose", "up", "-d"],
    ]
    assert box.records()[0] == ["systemctl", "restart", "docker"]


def test_record_lines_are_what_json_dumps_writes(sandbox: Any) -> None:
    """The recorder writes its JSON line without importing ``json``: quotes, backslashes,
    control characters, non-ASCII and an undecodable byte come out as ``json.dumps`` has them."""
    box = sandbox(harbor_yml=None)
    odd = ['a "quoted" \\ path', "tab\tnew\nline\x01", "caf\u00e9 \u2603", "bad-\udcff"]
    argv = [str(S.FAKES / "systemctl"), *odd]
    done = subprocess.run(argv, env=box.env, timeout=30, cwd=box.base)
    assert done.returncode == 0
    line = box.record_file.read_text(encoding="utf-8").splitlines()[-1]
    assert line == json.dumps({"argv": ["systemctl", *odd], "cwd": str(box.base)})
    assert json.loads(line)["argv"][1:] == odd


def test_prepare_consumes_harbor_yml(sandbox: Any, issued: Any) -> None:
    box = sandbox(trivy=True)
    run = lambda *a, **env: subprocess.run(  # noqa: E731
        ["./prepare", *a], cwd=box.harbor, env={**box.env, **env},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    failed = run()
    assert failed.returncode == 1
    assert "Please specify hostname" in failed.stdout

    cert_dir = box.path("/data/cert")
    cert_dir.mkdir(parents=True)
    shutil.copy(issued.server / "harbor.test.crt", cert_dir / "harbor.test.crt")
    shutil.copy(issued.server / "harbor.test.key", cert_dir / "harbor.test.key")
    yml = box.harbor / "harbor.yml"
    text = yml.read_text().replace("hostname: reg.mydomain.com", "hostname: harbor.test")
    text = text.replace("/your/certificate/path", "/data/cert/harbor.test.crt")
    yml.write_text(text.replace("/your/private/key/path", "/data/cert/missing.key"))
    missing = run()
    assert missing.returncode == 1
    assert "No such file or directory: '/hostfs/data/cert/missing.key'" in missing.stdout

    yml.write_text(text.replace("/your/private/key/path", "/data/cert/harbor.test.key"))
    assert run(TLSPROV_TEST_FAIL_PREPARE="3").returncode == 3
    assert not (box.harbor / "common").exists()
    ok = run("--with-trivy")
    assert ok.returncode == 0, ok.stdout
    secret = box.path("/data/secret/cert")
    assert (secret / "server.key").read_bytes() == (cert_dir / "harbor.test.key").read_bytes()
    assert (secret / "server.key").stat().st_mode & 0o777 == 0o600
    state = json.loads((box.harbor / "common/config/prepare.json").read_text())
    assert state["protocol"] == "https" and state["https_port"] == 443
    rendered = (box.harbor / "common/config/nginx/nginx.conf").read_text()
    assert f"ssl_certificate {secret / 'server.crt'};" in rendered
    assert "trivy-adapter:" in (box.harbor / "docker-compose.yml").read_text()
    assert box.records() == [["prepare"]] * 3 + [["prepare", "--with-trivy"]]
    assert {r["cwd"] for r in box.raw_records()} == {str(box.harbor)}
