"""A symlink planted where tlsprov will write is refused, not followed.

Each case plants a link to a file or folder outside the sandbox root, runs the command, and
expects exit 2 with one error line, the link's target byte-identical, and nothing written in
the root (tree snapshot before and after).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tlsprov_security_helpers as H

from tlsprov.testing import tree_snapshot

VICTIM = b"not tlsprov's file: must stay byte-identical\n"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server bundle for harbor.test + 127.0.0.1 (ec256), issued once."""
    base = tmp_path_factory.mktemp("sym-bundle")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(base)}
    out = base / "server"
    made = H.run_cli(["ca", "init", "--ca-dir", str(base / "ca"), "--key-type", "ec256"], env)
    assert made.returncode == 0, made.stderr
    result = H.run_cli(
        ["issue", H.HOST, "--alt-name", "127.0.0.1", "--ca-dir", str(base / "ca"),
         "--key-type", "ec256", "--out", str(out)],
        env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def _refused(result: Any) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tlsprov: error: "), lines
    assert "symbolic link" in lines[0] or "symlink" in lines[0], lines
    assert "Traceback" not in result.stderr


def _elsewhere(tmp_path: Path) -> Path:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "victim").write_bytes(VICTIM)
    return outside


Plant = Callable[[Any, Path], None]


def _key_link(box: Any, outside: Path) -> None:
    (box.root / "data" / "cert").mkdir(parents=True)
    (box.root / "data" / "cert" / f"{H.HOST}.key").symlink_to(outside / "victim")


def _certs_d_host_link(box: Any, outside: Path) -> None:
    (box.root / "etc" / "docker" / "certs.d").mkdir(parents=True)
    (box.root / "etc" / "docker" / "certs.d" / f"{H.HOST}:{H.PORT}").symlink_to(outside)


def _certs_d_link(box: Any, outside: Path) -> None:
    (box.root / "etc" / "docker" / "certs.d").symlink_to(outside)


def _state_link(box: Any, outside: Path) -> None:
    (box.root / "var" / "lib").mkdir(parents=True)
    (box.root / "var" / "lib" / "tlsprov").symlink_to(outside)


def _var_link(box: Any, outside: Path) -> None:
    (box.root / "var").symlink_to(outside)


def _backups_link(box: Any, outside: Path) -> None:
    (box.root / "var" / "lib" / "tlsprov").mkdir(parents=True, mode=0o700)
    (box.root / "var" / "lib" / "tlsprov" / "backups").symlink_to(outside)


def _harbor_yml_link(box: Any, outside: Path) -> None:
    yml = box.harbor / "harbor.yml"
    (outside / "harbor.yml").write_bytes(yml.read_bytes())
    yml.unlink()
    yml.symlink_to(outside / "harbor.yml")


@pytest.mark.parametrize(
    ("plant", "targets"),
    [
        (_key_link, "harbor"),
        (_certs_d_host_link, "docker"),
        (_certs_d_link, "docker"),
        (_state_link, "harbor,docker"),
        (_var_link, "docker"),
        (_backups_link, "docker"),
        (_harbor_yml_link, "harbor"),
    ],
    ids=[
        "harbor-key",
        "certs.d-host-folder",
        "certs.d",
        "state-dir",
        "var",
        "backups",
        "harbor.yml",
    ],
)
def test_install_refuses_planted_links(
    plant: Plant, targets: str, make_sandbox: Any, bundle: Path, tmp_path: Path
) -> None:
    box = make_sandbox()
    outside = _elsewhere(tmp_path)
    plant(box, outside)
    before_root, before_outside = tree_snapshot(box.root), tree_snapshot(outside)
    result = box.install(bundle, H.PORT, "--targets", targets)
    _refused(result)
    assert tree_snapshot(outside) == before_outside
    after_root = tree_snapshot(box.root)
    if plant is _backups_link:  # the real state folder may hold the (empty) lock file
        after_root.pop("var/lib/tlsprov/lock", None)
    assert after_root == before_root
    assert box.raw_records() == []  # no prepare, no docker compose, no systemctl


def test_install_refuses_a_symlinked_state_dir_option(
    make_sandbox: Any, bundle: Path, tmp_path: Path
) -> None:
    box = make_sandbox()
    outside = _elsewhere(tmp_path)
    link = box.root / "state-link"
    link.symlink_to(outside)
    before_root, before_outside = tree_snapshot(box.root), tree_snapshot(outside)
    result = box.install(bundle, H.PORT, "--targets", "docker", "--state-dir", str(link))
    _refused(result)
    assert tree_snapshot(outside) == before_outside
    assert tree_snapshot(box.root) == before_root


@pytest.mark.parametrize("name", [f"{H.HOST}.key", f"{H.HOST}.crt", "ca.crt"])
def test_issue_refuses_a_linked_output_file(name: str, tmp_path: Path) -> None:
    outside = _elsewhere(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(outside / "victim")
    before_out, before_outside = tree_snapshot(out), tree_snapshot(outside)
    ca_dir = tmp_path / "ca"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = H.run_cli(
        ["issue", H.HOST, "--ca-dir", str(ca_dir), "--key-type", "ec256", "--out", str(out)], env
    )
    _refused(result)
    assert tree_snapshot(outside) == before_outside
    assert tree_snapshot(out) == before_out
    assert not ca_dir.exists()  # refused before the CA was made


@pytest.mark.parametrize("name", ["ca.key", "ca.crt"])
def test_ca_init_force_refuses_a_linked_ca_file(name: str, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ca_dir = tmp_path / "ca"
    init = ["ca", "init", "--ca-dir", str(ca_dir), "--key-type", "ec256"]
    assert H.run_cli(init, env).returncode == 0
    outside = _elsewhere(tmp_path)
    (outside / "victim").write_bytes((ca_dir / name).read_bytes())
    (ca_dir / name).unlink()
    (ca_dir / name).symlink_to(outside / "victim")
    before_ca, before_outside = tree_snapshot(ca_dir), tree_snapshot(outside)
    result = H.run_cli([*init, "--force"], env)
    _refused(result)
    assert tree_snapshot(outside) == before_outside
    assert tree_snapshot(ca_dir) == before_ca  # the other CA file was not replaced either


@pytest.mark.parametrize("where", ["live", "lineage", "state", "var"])
def test_provision_refuses_a_linked_state_lineage(
    where: str, make_sandbox: Any, tmp_path: Path
) -> None:
    box = make_sandbox()
    outside = _elsewhere(tmp_path)
    state = box.root / "var" / "lib" / "tlsprov"
    if where == "var":
        (box.root / "var").symlink_to(outside)
    elif where == "state":
        state.parent.mkdir(parents=True)
        state.symlink_to(outside)
    else:
        state.mkdir(parents=True, mode=0o700)
    if where == "live":
        (state / "live").symlink_to(outside)
    elif where == "lineage":
        (state / "live").mkdir(mode=0o700)
        (state / "live" / H.HOST).symlink_to(outside)
    config = box.base / "tlsprov.toml"
    config.write_text(
        f'[harbor]\nhostname = "{H.HOST}"\nhttps_port = {H.PORT}\ninstall_dir = "/opt/harbor"\n'
        f'[provider]\nname = "selfsigned"\n[provider.selfsigned]\n'
        f'ca_dir = "/etc/tlsprov/ca"\nkey_type = "ec256"\n'
        f'[install]\nroot = "{box.root}"\ntargets = ["harbor", "docker"]\nverify = false\n',
        encoding="utf-8",
    )
    made = H.run_cli(
        ["ca", "init", "--ca-dir", str(box.path("/etc/tlsprov/ca")), "--key-type", "ec256"],
        box.env,
    )
    assert made.returncode == 0, made.stderr
    before_root, before_outside = tree_snapshot(box.root), tree_snapshot(outside)
    result = H.run_cli(["provision", "--config", str(config)], box.env)
    _refused(result)
    assert tree_snapshot(outside) == before_outside
    after = tree_snapshot(box.root)
    for extra in ("var/lib/tlsprov/lock", "var/lib/tlsprov/log.jsonl"):
        after.pop(extra, None)  # the real state folder may record the attempt
    assert after == before_root
    assert box.raw_records() == []
