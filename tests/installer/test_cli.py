"""`tlsprov install` and `tlsprov rollback` with the built-in targets in a sandbox root and
recording programs on PATH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tlsprov.cli import main
from tlsprov.pki.bundleio import write_bundle
from tlsprov.testing import tree_snapshot

HARBOR_TMPL = Path(__file__).parents[1] / "data" / "harbor" / "harbor.yml.tmpl"
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'


@pytest.fixture
def env(monkeypatch, recorder, tmp_path):
    recorder.add("docker", "docker-compose", "systemctl", "update-ca-certificates")
    monkeypatch.setenv("PATH", recorder.path)
    monkeypatch.setenv("TLSPROV_TEST_RECORD", str(recorder.log))
    return recorder


@pytest.fixture
def sandbox(root: Path) -> Path:
    (root / "etc/os-release").write_text(DEBIAN)
    (root / "usr/local/share/ca-certificates").mkdir(parents=True)
    harbor = root / "opt/harbor"
    harbor.mkdir(parents=True)
    (harbor / "harbor.yml").write_bytes(HARBOR_TMPL.read_bytes())
    prepare = harbor / "prepare"
    prepare.write_text("#!/bin/sh\nexit 0\n")
    prepare.chmod(0o755)
    return root


@pytest.fixture
def bundle_dir(ca, tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    write_bundle(folder, "harbor.test", ca.bundle(["harbor.test"]))
    return folder


def _args(bundle_dir: Path, root: Path, state: Path, *extra: str) -> list[str]:
    return [
        "install",
        "--bundle",
        str(bundle_dir),
        "--host",
        "harbor.test",
        "--port",
        "8443",
        "--root",
        str(root),
        "--state-dir",
        str(state),
        *extra,
    ]


def test_dry_run_prints_the_plan_and_touches_nothing(env, sandbox, bundle_dir, state_dir, capsys):
    before = tree_snapshot(sandbox)
    code = main(
        _args(bundle_dir, sandbox, state_dir, "--targets", "harbor,docker,os-trust", "--dry-run")
    )
    out = capsys.readouterr().out
    assert code == 0
    assert tree_snapshot(sandbox) == before
    assert not state_dir.exists()
    assert env.calls() == []
    assert "--- /opt/harbor/harbor.yml (now)" in out
    assert "-hostname: reg.mydomain.com" in out
    assert "+hostname: harbor.test" in out
    assert "(private key, not shown)" in out
    assert "[harbor] ./prepare in /opt/harbor" in out
    assert "[docker] systemctl restart docker" in out  # the trust store changes
    key_line = (bundle_dir / "harbor.test.key").read_text().splitlines()[1]
    assert key_line not in out


def test_install_second_run_and_rollback(env, sandbox, bundle_dir, state_dir, capsys):
    before = tree_snapshot(sandbox)
    args = _args(bundle_dir, sandbox, state_dir, "--targets", "harbor,docker")

    assert main(args) == 0
    out = capsys.readouterr().out
    assert "wrote /data/cert/harbor.test.key" in out
    assert "ran ./prepare" in out
    assert (sandbox / "etc/docker/certs.d/harbor.test:8443/ca.crt").exists()
    assert "hostname: harbor.test" in (sandbox / "opt/harbor/harbor.yml").read_text()
    assert env.calls() == [
        ["docker", "compose", "version"],  # the probe for compose v2
        ["docker", "compose", "down", "-v"],
        ["docker", "compose", "up", "-d"],
    ]

    env.clear()
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is True
    assert data["result"]["changed"] is False
    assert "nothing to do" in " ".join(data["result"]["notes"])
    assert env.calls() == []

    assert main(["rollback", "--root", str(sandbox), "--state-dir", str(state_dir)]) == 0
    out = capsys.readouterr().out
    assert "restored /opt/harbor/harbor.yml" in out
    assert tree_snapshot(sandbox) == before
    assert main(["rollback", "--root", str(sandbox), "--state-dir", str(state_dir)]) == 1
    assert "nothing to roll back" in capsys.readouterr().err


def test_failing_prepare_rolls_back(env, sandbox, bundle_dir, state_dir, capsys, monkeypatch):
    (sandbox / "opt/harbor/prepare").write_text("#!/bin/sh\necho boom >&2\nexit 4\n")
    before = tree_snapshot(sandbox)
    code = main(_args(bundle_dir, sandbox, state_dir, "--targets", "harbor,docker"))
    err = capsys.readouterr().err
    assert code == 1
    assert "exit code 4" in err and "rolled back" in err
    assert tree_snapshot(sandbox) == before


def test_bad_bundle_is_refused_with_exit_2(env, sandbox, ca, tmp_path, state_dir, capsys):
    folder = tmp_path / "cn-only"
    write_bundle(folder, "harbor.test", ca.bundle(["harbor.test"], san=False))
    before = tree_snapshot(sandbox)
    code = main(_args(folder, sandbox, state_dir, "--targets", "docker"))
    assert code == 2
    assert "subjectAltName" in capsys.readouterr().err
    assert tree_snapshot(sandbox) == before
    assert not state_dir.exists()


def test_client_only_with_a_client_certificate(
    env, sandbox, ca, kit, bundle_dir, tmp_path, state_dir, capsys
):
    client = tmp_path / "client"
    write_bundle(client, "robot", ca.bundle(["robot"], eku=[kit.pki.CLIENT_AUTH]))
    code = main(
        _args(
            bundle_dir,
            sandbox,
            state_dir,
            "--client-only",
            "--client-bundle",
            str(client),
            "--json",
        )
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads(capsys.readouterr().out)
    folder = sandbox / "etc/docker/certs.d/harbor.test:8443"
    assert sorted(p.name for p in folder.iterdir()) == ["ca.crt", "client.cert", "client.key"]
    assert (folder / "client.key").stat().st_mode & 0o777 == 0o600
    assert data["plan"]["targets"] == ["docker"]
    assert not (sandbox / "data").exists()


def test_unknown_target_exits_2(env, sandbox, bundle_dir, state_dir, capsys):
    assert main(_args(bundle_dir, sandbox, state_dir, "--targets", "nope")) == 2
    assert "choose one of" in capsys.readouterr().err
