"""Smaller promises of the plugin API work: CA records, capabilities, hints, pipes, keyUsage.

Real programs only: the tlsprov CLI (in process or as a process), openssl for the guide's CA.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tlsprov
from tlsprov.cli import main
from tlsprov.cli.provision_cmd import result_lines
from tlsprov.lifecycle.provision import ProvisionResult

EXE = Path(sys.executable).with_name("tlsprov")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _config(tmp_path: Path, targets: str) -> Path:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    path = tmp_path / "tlsprov.toml"
    path.write_text(
        '[harbor]\nhostname = "harbor.test"\nhttps_port = 8443\n\n'
        '[provider]\nname = "selfsigned"\n\n'
        f'[provider.selfsigned]\nca_dir = "{tmp_path / "ca"}"\nkey_type = "ec256"\n\n'
        f'[install]\nroot = "{root}"\ntargets = [{targets}]\nverify = false\n',
        encoding="utf-8",
    )
    return path


# --- init_ca's record and the provider's capabilities ------------------------------------------


def test_ca_manager_returns_a_typed_record(tmp_path: Path) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=str(tmp_path / "ca"), key_type="ec256")
    manager = provider.ca_manager
    assert isinstance(manager, tlsprov.CAManager)
    info = manager.init_ca()
    assert isinstance(info, tlsprov.CAInfo)
    assert info.ca_key == tmp_path / "ca" / "ca.key" and info.ca_key.is_file()
    assert info.ca_crt == tmp_path / "ca" / "ca.crt"
    assert info.subject.startswith("/O=tlsprov/CN=tlsprov Root CA ")
    assert len(info.fingerprint_sha256.split(":")) == 32
    assert info.not_after.tzinfo is not None
    assert info.not_after - dt.datetime.now(dt.UTC) > dt.timedelta(days=3649)
    assert info.to_json()["not_after"] == info.not_after.isoformat()
    assert provider.capability("init_ca") is not None
    assert provider.capability("renewal_info") is None
    assert (provider.plugin, provider.source) == ("selfsigned", f"tlsprov {tlsprov.__version__}")
    assert tlsprov.get_provider("test-good").ca_manager is None


def test_ca_init_prints_every_field_of_the_record(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ca_dir = tmp_path / "ca"
    argv = ("ca", "init", "--ca-dir", str(ca_dir), "--key-type", "ec256")
    code, out, err = _cli(capsys, *argv, "--subject", "/O=Example/CN=Example Root CA")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"created CA in {ca_dir}"
    assert f"  key:         {ca_dir / 'ca.key'}" in lines
    assert f"  certificate: {ca_dir / 'ca.crt'}" in lines
    assert "  subject:     /O=Example/CN=Example Root CA" in lines
    sha = next(ln for ln in lines if ln.startswith("  sha256:"))
    assert len(sha.split()[-1].split(":")) == 32
    after = next(ln for ln in lines if ln.startswith("  not after:"))
    assert dt.datetime.fromisoformat(after.split()[-1]).year >= dt.datetime.now().year + 9
    code, _, err = _cli(capsys, "ca", "init", "--provider", "test-good")
    assert code == 2
    assert "provider 'test-good' does not keep a CA of its own" in err


# --- hints name what the command offers ---------------------------------------------------------


def test_missing_harbor_yml_hint_names_the_config_key_under_provision(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(tmp_path, '"harbor"')
    code, _, err = _cli(capsys, "provision", "--config", str(config))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "/opt/harbor/harbor.yml does not exist" in line
    assert f"set [harbor] install_dir in {config} to Harbor's install folder" in line
    assert "--harbor-dir" not in line


def test_missing_harbor_yml_hint_names_the_flag_under_install(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    code, _, err = _cli(
        capsys, "issue", "harbor.test", "--provider", "test-good", "--out", str(bundle)
    )
    assert code == 0, err
    root = tmp_path / "root"
    root.mkdir()
    code, _, err = _cli(
        capsys, "install", "--bundle", str(bundle), "--host", "harbor.test", "--root", str(root),
        "--targets", "harbor",
    )  # fmt: skip
    assert code == 2
    assert "set --harbor-dir to Harbor's install folder" in err


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("harbor.test", 443, "https://harbor.test "),
        ("harbor.test", 8443, "https://harbor.test:8443 "),
        ("::1", 8443, "https://[::1]:8443 "),
    ],
)
def test_verified_line_keeps_a_non_default_port(host: str, port: int, url: str) -> None:
    result = ProvisionResult(
        hostname=host, provider="selfsigned", issued=False, reason="up to date", changed=False,
        verified=True,
    )  # fmt: skip
    assert f"  verified {url}with the installed CA" in result_lines(result, port)


# --- a closed pipe ------------------------------------------------------------------------------


def test_dry_run_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    config = _config(tmp_path, '"docker", "containerd", "podman"')
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already gone away
    try:
        proc = subprocess.run(
            [str(EXE), "provision", "--dry-run", "--config", str(config)],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert "error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "BrokenPipe" not in proc.stderr


# --- the guide's CA without keyUsage: one warning, at issue and at install -----------------------


def _guide_ca(folder: Path) -> Path:
    folder.mkdir(parents=True)
    run = {"check": True, "capture_output": True, "timeout": 60}
    subprocess.run(["openssl", "genrsa", "-out", str(folder / "ca.key"), "2048"], **run)  # type: ignore[call-overload]
    subprocess.run(
        ["openssl", "req", "-x509", "-new", "-nodes", "-sha512", "-days", "3650",
         "-subj", "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=MyPersonal Root CA",
         "-key", str(folder / "ca.key"), "-out", str(folder / "ca.crt")],
        **run,
    )  # type: ignore[call-overload]  # fmt: skip
    return folder


def test_ca_without_key_usage_warns_the_same_at_issue_and_install(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ca_dir = _guide_ca(tmp_path / "ca")
    out_dir = tmp_path / "out"
    argv = ("issue", "harbor.test", "--ca-dir", str(ca_dir), "--out", str(out_dir), "--json")
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    wanted = "CA certificate: CA certificate has no keyUsage"
    advice = "make a new CA with 'tlsprov ca init', issue again and install the new ca.crt"
    at_issue = [ln for ln in err.splitlines() if wanted in ln]
    assert len(at_issue) == 1 and advice in at_issue[0], err
    assert any(wanted in w for w in json.loads(out)["bundle_warnings"])
    root = tmp_path / "root"
    root.mkdir()
    code, _, err = _cli(
        capsys, "install", "--bundle", str(out_dir), "--host", "harbor.test", "--root", str(root),
        "--targets", "docker", "--dry-run",
    )  # fmt: skip
    assert code == 0, err
    at_install = [ln for ln in err.splitlines() if wanted in ln]
    assert len(at_install) == 1 and advice in at_install[0], err
    assert at_install[0].split(wanted, 1)[1] == at_issue[0].split(wanted, 1)[1]
