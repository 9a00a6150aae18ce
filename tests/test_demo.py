"""The built-in demo (``tlsprov demo`` and ``scripts/demo``)."""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path

import pytest

from tlsprov.cli import main
from tlsprov.demo import run_demo
from tlsprov.testing import tree_snapshot
from tlsprov.x509util import load_cert

REPO = Path(__file__).resolve().parents[1]


def test_demo_issues_serves_and_verifies(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    lines: list[str] = []
    report = run_demo(sandbox, key_type="ec256", log=lines.append)
    assert report["sandbox"] == str(sandbox)
    assert report["ca"] == {"dir": str(sandbox / "ca"), "reused": False}
    assert report["certificate"]["san"] == ["harbor.test", "127.0.0.1"]
    assert report["certificate"]["key"] == "EC P-256 256"
    check = report["check"]
    assert check["server_name"] == "harbor.test"
    assert check["address"].startswith("127.0.0.1:")
    assert check["http"] == "GET /v2/ -> 200 {}"
    assert check["without_ca"] == "unable to get local issuer certificate"
    assert "wrong.test" in check["wrong_host"]
    files = {k: Path(v) for k, v in report["files"].items()}
    assert files["key"] == sandbox / "certs" / "harbor.test.key"
    assert files["key"].stat().st_mode & 0o777 == 0o600
    assert files["crt"].read_bytes() == files["cert"].read_bytes()
    assert files["ca"].read_bytes() == (sandbox / "ca" / "ca.crt").read_bytes()
    assert lines, "the demo reports its progress"

    # Independent check of the written files: a strict client context accepts the chain.
    ctx = ssl.create_default_context(cafile=str(files["ca"]))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.load_cert_chain(files["crt"], files["key"])  # key matches the certificate
    leaf = load_cert(files["crt"].read_bytes())
    assert leaf.subject.rfc4514_string() == "CN=harbor.test"


def test_second_run_reuses_the_ca(tmp_path: Path) -> None:
    first = run_demo(tmp_path, key_type="ec256")
    ca_before = tree_snapshot(tmp_path / "ca")
    second = run_demo(tmp_path, key_type="ec256")
    assert second["ca"]["reused"] is True
    assert tree_snapshot(tmp_path / "ca") == ca_before
    assert second["certificate"]["ca_sha256"] == first["certificate"]["ca_sha256"]
    assert second["certificate"]["sha256"] != first["certificate"]["sha256"]


def test_demo_command_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--dir", str(tmp_path / "d"), "--key-type", "ec256", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["ok"] is True
    assert doc["check"]["http"] == "GET /v2/ -> 200 {}"
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
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["certificate"]["key"] == "RSA 4096"
    assert doc["check"]["tls_version"] in {"TLSv1.2", "TLSv1.3"}
    assert "Traceback" not in proc.stderr

    human = subprocess.run(
        [str(REPO / "scripts" / "demo"), "--dir", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert human.returncode == 0, human.stderr
    assert f"CA:           {tmp_path / 'demo' / 'ca'} (reused)" in human.stdout
    assert human.stdout.strip().endswith(
        "demo OK: the server's certificate verifies strictly with the private CA"
    )
