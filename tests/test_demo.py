"""The built-in demo (``tlsprov demo`` and ``scripts/demo``): a sandbox Harbor provisioned end to
end and verified over a real TLS connection."""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path

import pytest

from tlsprov.cli import main
from tlsprov.demo import run_demo
from tlsprov.testing import tree_snapshot

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("use_nginx", [True, False], ids=["nginx", "python"])
def test_demo_provisions_the_sandbox_and_verifies(tmp_path: Path, use_nginx: bool) -> None:
    sandbox = tmp_path / "sandbox"
    lines: list[str] = []
    report = run_demo(sandbox, key_type="ec256", log=lines.append, use_nginx=use_nginx)
    assert lines, "the demo reports its progress"
    assert report["server"] == ("nginx" if use_nginx else "python")
    assert report["issued"] is True and report["changed"] is True
    root = sandbox / "root"
    port = int((sandbox / "port").read_text())
    # Everything Harbor's guide does by hand, in the sandbox root:
    assert set(report["files"]) == {
        "/usr/local/share/ca-certificates/tlsprov-harbor.test.crt",
        "/data/cert/harbor.test.crt",
        "/data/cert/harbor.test.key",
        "/data/ca_download/ca.crt",
        "/opt/harbor/harbor.yml",
        f"/etc/docker/certs.d/harbor.test:{port}/ca.crt",
    }
    harbor_yml = (root / "opt/harbor/harbor.yml").read_text()
    assert "hostname: harbor.test\n" in harbor_yml
    assert f"  port: {port}\n" in harbor_yml
    assert "  certificate: /data/cert/harbor.test.crt\n" in harbor_yml
    assert (root / "data/cert/harbor.test.key").stat().st_mode & 0o777 == 0o600
    # prepare and compose were run (recorded by the stand-ins), in Harbor's order
    commands = [c.strip() for c in report["commands"] if c.strip() != "docker compose version"]
    assert commands == [
        "update-ca-certificates",
        "prepare",
        "docker compose down -v",
        "docker compose up -d",
        "systemctl restart docker",
    ]
    # the live check passed against what prepare rendered, trusting only the installed CA
    verify = report["verify"]
    assert verify["ok"] is True and verify["host"] == "harbor.test"
    assert verify["connect"] == f"127.0.0.1:{port}"
    assert verify["http_status"] == 401
    assert verify["fingerprint_sha256"] == report["certificate"]["sha256"]
    assert report["without_ca"] == "unable to get local issuer certificate"
    assert "wrong.test" in report["wrong_host"]
    assert report["certificate"]["san"] == ["harbor.test", "127.0.0.1"]
    # an independent strict client accepts what the proxy was given
    ctx = ssl.create_default_context(
        cafile=str(root / f"etc/docker/certs.d/harbor.test:{port}/ca.crt")
    )
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.load_cert_chain(root / "data/secret/cert/server.crt", root / "data/secret/cert/server.key")


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    first = run_demo(tmp_path, key_type="ec256", use_nginx=False)
    before = tree_snapshot(tmp_path / "root")
    second = run_demo(tmp_path, key_type="ec256", use_nginx=False)
    assert second["issued"] is False and second["changed"] is False
    assert second["commands"] == []
    assert second["certificate"]["sha256"] == first["certificate"]["sha256"]
    after = tree_snapshot(tmp_path / "root")
    state = "var/lib/tlsprov"
    assert {k: v for k, v in after.items() if not k.startswith(state)} == {
        k: v for k, v in before.items() if not k.startswith(state)
    }


def test_demo_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--dir", str(tmp_path / "d"), "--key-type", "ec256", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True and doc["verify"]["ok"] is True
    assert "PRIVATE KEY" not in out


def test_demo_refuses_a_file_as_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("not a folder")
    code = main(["demo", "--dir", str(target), "--key-type", "ec256"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        f"tlsprov: error: {target} exists and is not a folder; choose another folder"
    ]
    assert target.read_text() == "not a folder"


def test_scripts_demo_with_the_real_defaults(tmp_path: Path) -> None:
    """The README's first command, with RSA-4096 defaults, as a real process."""
    proc = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--dir", str(tmp_path / "demo"), "--json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["certificate"]["key"] == "RSA 4096"
    assert doc["verify"]["tls_version"] in {"TLSv1.2", "TLSv1.3"}
    assert "Traceback" not in proc.stderr

    human = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--dir", "demo"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=tmp_path,
    )
    assert human.returncode == 0, human.stderr
    assert "kept the certificate (the existing certificate is still valid)" in human.stdout
    assert human.stdout.strip().endswith(
        "demo OK: a sandbox Harbor was provisioned and verified over a real TLS connection"
    )
