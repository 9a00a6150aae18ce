"""Issue 11, part B: odd input from a careless operator gives one line, exit 2, nothing written.

Each test runs the real CLI in-process against a sandbox root holding a Harbor install folder
(harbor.yml from Harbor's template, a ``prepare`` script) and compares snapshots of the root,
the state folder and the bundle before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

HARBOR_TMPL = Path(__file__).parents[1] / "data" / "harbor" / "harbor.yml.tmpl"


@dataclass
class Box:
    """A sandbox root with Harbor in /opt/harbor, a bundle for harbor.test and a state folder."""

    root: Path
    bundle: Path
    state: Path
    ca: Path
    tmp: Path

    def install(self, *extra: str, host: str = "harbor.test") -> list[str]:
        return [
            "install", "--bundle", str(self.bundle), "--host", host, "--root", str(self.root),
            "--state-dir", str(self.state), *extra,
        ]  # fmt: skip


@pytest.fixture
def box(cli, make_ca, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Box:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))  # no real docker or systemctl is ever run
    root = tmp_path / "root"
    harbor = root / "opt" / "harbor"
    harbor.mkdir(parents=True)
    (harbor / "harbor.yml").write_bytes(HARBOR_TMPL.read_bytes())
    (harbor / "prepare").write_text("#!/bin/sh\nexit 0\n")
    (harbor / "prepare").chmod(0o755)
    ca = make_ca("ca")
    bundle = tmp_path / "bundle"
    res = cli(
        "issue", "harbor.test", "--alt-name", "*.harbor.test", "--alt-name", "::1",
        "--ca-dir", ca, "--out", bundle, "--key-type", "ec256",
    )  # fmt: skip
    assert res.code == 0, res.err
    return Box(root=root, bundle=bundle, state=tmp_path / "state", ca=ca, tmp=tmp_path)


@pytest.fixture
def refused(cli, tree, box: Box) -> Callable[..., str]:
    """``refused(*argv)`` runs the CLI, asserts one line, exit 2 and no change; returns the line."""

    def run(*argv: str, watch: tuple[Path, ...] = ()) -> str:
        paths = (box.root, box.bundle, box.ca, box.state, *watch)
        before = tree(*paths)
        res = cli(*argv)
        assert res.code == 2, (res.code, res.err)
        assert len(res.err_lines) == 1, res.err
        assert "internal error" not in res.err and "Traceback" not in res.err
        assert res.err_lines[0].startswith("tlsprov: error: ")
        assert tree(*paths) == before
        return res.err_lines[0]

    return run


def test_install_refuses_a_wildcard_host(box: Box, refused: Callable[..., str]) -> None:
    # item 11: harbor.yml got hostname '*.harbor.test' and certs.d/*.harbor.test/ appeared
    line = refused(*box.install("--targets", "harbor", host="*.harbor.test"))
    assert "wildcard" in line
    line = refused(*box.install("--targets", "docker,podman", host="*.harbor.test"))
    assert "wildcard" in line


def test_install_refuses_ipv6_loopback_as_harbor_hostname(
    box: Box, refused: Callable[..., str]
) -> None:
    # item 11: '::1' became Harbor's hostname
    line = refused(*box.install("--targets", "harbor", host="::1"))
    assert "'::1'" in line and "loopback" in line


@pytest.mark.parametrize(
    ("target", "folder"),
    [
        ("docker", "etc/docker/certs.d/harbor.test"),
        ("podman", "etc/containers/certs.d/harbor.test"),
        ("containerd", "etc/containerd/certs.d/harbor.test"),
        ("harbor", "data/cert"),
    ],
)
def test_a_target_folder_that_is_a_file(
    box: Box, refused: Callable[..., str], target: str, folder: str
) -> None:
    # item 20: a certs.d host folder that is a regular file ended in NotADirectoryError
    path = box.root / folder
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("I am a file\n")
    line = refused(*box.install("--targets", target))
    assert f"/{folder} is a file, not a folder" in line


@pytest.mark.parametrize(
    ("extra", "yml_volume", "expected"),
    [
        ((), "/data/../srv", "data_volume '/data/../srv'"),
        (("--data-volume", "/data/../srv"), None, "--data-volume"),
        (("--harbor-dir", "/opt/../opt/harbor"), None, "--harbor-dir"),
    ],
)
def test_dotdot_in_harbor_paths_is_a_user_error(
    box: Box, refused: Callable[..., str], extra: tuple[str, ...], yml_volume, expected: str
) -> None:
    # item 21: 'internal error: ValueError: plan paths must not contain '..''
    if yml_volume is not None:
        yml = box.root / "opt/harbor/harbor.yml"
        yml.write_text(yml.read_text().replace("data_volume: /data", f"data_volume: {yml_volume}"))
    line = refused(*box.install("--targets", "harbor", *extra))
    assert expected in line and "'..'" in line


def test_an_encrypted_bundle_key_hint_names_no_foreign_option(
    box: Box, refused: Callable[..., str]
) -> None:
    # item 23: the hint named --ca-passphrase..., options 'install' does not have
    from cryptography.hazmat.primitives import serialization

    key_path = box.bundle / "harbor.test.key"
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    line = refused(*box.install("--targets", "docker"))
    assert "harbor.test.key is encrypted" in line
    assert "--ca-passphrase" not in line
    assert "openssl pkey" in line


def test_a_chain_in_the_wrong_order_says_so(box: Box, refused: Callable[..., str]) -> None:
    # item 24: issuer before leaf was reported as "the key does not match"
    crt = box.bundle / "harbor.test.crt"
    crt.write_bytes((box.bundle / "ca.crt").read_bytes() + crt.read_bytes())
    line = refused(*box.install("--targets", "docker"))
    assert "wrong order" in line and "does not match" not in line
    assert "certificate 2 of 2" in line


@pytest.mark.parametrize(
    ("host", "name", "port"),
    [("harbor.test:443", "harbor.test", "443"), ("[::1]:8443", "::1", "8443")],
)
def test_a_host_with_a_port_says_use_port(
    box: Box, refused: Callable[..., str], host: str, name: str, port: str
) -> None:
    # item 25: '--host harbor.test:443' was "not a valid host name"
    line = refused(*box.install("--targets", "docker", host=host))
    assert f"--host {name} --port {port}" in line


def test_a_config_hostname_with_a_port_says_use_https_port(tmp_path: Path, cli) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[harbor]\nhostname = "harbor.test:8443"\n[provider]\nname = "selfsigned"\n')
    res = cli("status", "--config", config)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "https_port = 8443" in res.err


def test_bundle_given_as_a_file(box: Box, refused: Callable[..., str]) -> None:
    # item 26: '--bundle FILE' said "does not exist"
    args = box.install("--targets", "docker")
    args[args.index("--bundle") + 1] = str(box.bundle / "harbor.test.crt")
    line = refused(*args)
    assert "is a file, not a folder" in line and "does not exist" not in line
    assert f"the folder that holds it ({box.bundle})" in line


def test_config_given_as_a_folder(tmp_path: Path, cli) -> None:
    # item 26: '--config DIR' said "does not exist"
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "tlsprov.toml").write_text("")
    res = cli("status", "--config", folder)
    assert res.code == 2 and len(res.err_lines) == 1
    assert "is a folder, not a file" in res.err and "does not exist" not in res.err
    assert f"--config {folder / 'tlsprov.toml'}" in res.err
