"""Idempotency, --dry-run, rollback, harbor.yml edits, failing prepare, compose and Trivy."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tlsprov_e2e_support as S
from ruamel.yaml import YAML

pytestmark = pytest.mark.e2e

HARBOR_ARGS = ("--targets", "harbor,docker,os-trust", "--harbor-dir", "/opt/harbor")
# Written by the test prepare, not by tlsprov: a rollback cannot (and need not) undo them.
PREPARE_OUTPUTS = ("data/secret", "opt/harbor/common")


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_second_install_changes_nothing(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    first = box.install(issued.server, 8443, *HARBOR_ARGS)
    assert first.returncode == 0, S.describe(first)
    calls = box.raw_records()
    assert calls, "the first install ran no command"
    after_first = box.snapshot()

    second = box.install(issued.server, 8443, *HARBOR_ARGS)
    assert second.returncode == 0, S.describe(second)
    assert "nothing to do" in (second.stdout + second.stderr).lower()
    assert box.raw_records() == calls
    assert box.snapshot() == after_first, S.snapshot_diff(after_first, box.snapshot())


def test_dry_run_touches_nothing_and_shows_the_harbor_yml_diff(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    before = box.snapshot()
    result = box.install(issued.server, 8443, *HARBOR_ARGS, "--dry-run")
    assert result.returncode == 0, S.describe(result)
    assert box.snapshot() == before, S.snapshot_diff(before, box.snapshot())
    assert box.raw_records() == []
    out = result.stdout
    assert "-hostname: reg.mydomain.com" in out
    assert "+hostname: harbor.test" in out
    assert "+  port: 8443" in out
    assert "./prepare" in out and "update-ca-certificates" in out
    assert "/etc/docker/certs.d/harbor.test:8443/ca.crt" in out
    key = (issued.server / "harbor.test.key").read_text()
    body = key.strip().splitlines()[1]
    assert body not in out + result.stderr

    as_json = box.install(issued.server, 8443, *HARBOR_ARGS, "--dry-run", "--json")
    assert as_json.returncode == 0, S.describe(as_json)
    assert json.loads(as_json.stdout)["ok"] is True
    assert body not in as_json.stdout
    assert box.snapshot() == before


def test_rollback_restores_byte_identical_files(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    before = box.snapshot(exclude=PREPARE_OUTPUTS, state=False)
    original_yml = (box.harbor / "harbor.yml").read_bytes()
    result = box.install(issued.server, 8443, *HARBOR_ARGS)
    assert result.returncode == 0, S.describe(result)
    assert (box.harbor / "harbor.yml").read_bytes() != original_yml

    rolled = box.tlsprov("rollback", "--root", str(box.root))
    assert rolled.returncode == 0, S.describe(rolled)
    assert (box.harbor / "harbor.yml").read_bytes() == original_yml
    after = box.snapshot(exclude=PREPARE_OUTPUTS, state=False)
    assert after == before, S.snapshot_diff(before, after)


def test_harbor_yml_edit_keeps_comments_and_layout(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    original = (box.harbor / "harbor.yml").read_text()
    result = box.install(issued.server, 8443, *HARBOR_ARGS)
    assert result.returncode == 0, S.describe(result)
    edited = (box.harbor / "harbor.yml").read_text()
    assert _comments(edited) == _comments(original)
    assert "data_volume: /data\n" in edited
    changed = [
        (a, b) for a, b in zip(original.splitlines(), edited.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        ("hostname: reg.mydomain.com", "hostname: harbor.test"),
        ("  port: 443", "  port: 8443"),
        ("  certificate: /your/certificate/path", "  certificate: /data/cert/harbor.test.crt"),
        ("  private_key: /your/private/key/path", "  private_key: /data/cert/harbor.test.key"),
    ]


def test_http_only_harbor_yml_gets_https_and_serves_it(
    issued: Any, sandbox: Any, nginx: Any, skopeo: Any, registry: int
) -> None:
    box = sandbox("debian", harbor_yml="harbor.yml.http-only")
    original = (box.harbor / "harbor.yml").read_text()
    port = S.free_port()
    result = box.install(issued.server, port, *HARBOR_ARGS)
    assert result.returncode == 0, S.describe(result)
    edited = (box.harbor / "harbor.yml").read_text()
    config = YAML(typ="safe").load(edited)
    assert config["hostname"] == S.HOST
    assert config["https"] == {
        "port": port,
        "certificate": "/data/cert/harbor.test.crt",
        "private_key": "/data/cert/harbor.test.key",
    }
    assert config["http"] == {"port": 80}
    # Every comment outside the commented-out https paragraph survives.
    paragraphs = original.split("\n\n")
    kept = [c for para in paragraphs if "# https:" not in para for c in _comments(para)]
    edited_comments = _comments(edited)
    assert [c for c in kept if c not in edited_comments] == []

    nginx(box.harbor / "common/config/nginx/nginx.conf", port=port)
    pushed = skopeo.push(port, cert_dir=box.certs_d(port), repo="e2e/http-only")
    assert pushed.returncode == 0, pushed.stderr
    assert S.registry_tags(registry, "e2e/http-only") == ["v1"]


def test_failing_prepare_rolls_everything_back(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    before = box.snapshot(state=False)
    result = box.install(issued.server, 8443, *HARBOR_ARGS, TLSPROV_TEST_FAIL_PREPARE="1")
    assert result.returncode == 1, S.describe(result)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("tlsprov: error: "), result.stderr
    assert "./prepare" in errors[0] and "exit code 1" in errors[0], errors[0]
    after = box.snapshot(state=False)
    assert after == before, S.snapshot_diff(before, after)
    # The forward run stopped at the failing prepare, and the rollback's re-run (prepare
    # again, with the restored harbor.yml) stopped at its failure too: compose never ran, so a
    # running Harbor is not taken down for nothing.
    calls = box.records()
    assert calls.count(["prepare"]) == 2, calls
    assert all(call[0] not in ("docker", "docker-compose") for call in calls), calls


def test_compose_v1_fallback_and_trivy_kept(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian", trivy=True)
    result = box.install(
        issued.server, 8443, "--targets", "harbor", "--harbor-dir", "/opt/harbor",
        TLSPROV_TEST_NO_COMPOSE_V2="1",
    )  # fmt: skip
    assert result.returncode == 0, S.describe(result)
    assert box.records() == [
        ["prepare", "--with-trivy"],
        ["docker-compose", "down", "-v"],
        ["docker-compose", "up", "-d"],
    ]
    assert "trivy-adapter:" in (box.harbor / "docker-compose.yml").read_text()
    assert all(r["cwd"] == str(box.harbor) for r in box.raw_records())


def test_broken_harbor_yml_is_refused_before_any_change(issued: Any, sandbox: Any) -> None:
    box = sandbox("debian")
    (box.harbor / "harbor.yml").write_text("hostname: [unclosed\n  https: {\n")
    before = box.snapshot()
    result = box.install(issued.server, 8443, *HARBOR_ARGS)
    assert result.returncode == 2, S.describe(result)
    assert "harbor.yml" in result.stderr
    assert box.snapshot() == before
    assert box.raw_records() == []
