"""Every private key tlsprov writes is 0600 in a 0700 folder, whatever the umask.

Each code path that writes a key runs in a child process under umask 000, 022 and 077 (or
in-process with the umask set and restored): ``ca init``, ``issue`` (selfsigned server and
client, letsencrypt from Pebble with its ACME account key), ``install`` (Harbor's key, Docker's
certs.d host and client keys, and the backups of replaced keys), ``demo``, and the state
lineage (live/ and archive/ after a renewal). Then every file holding a PEM private key in the
test's folders is checked, and the expected key files must be among them, so the scan cannot
pass by finding nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import tlsprov_security_helpers as H

import tlsprov
from tlsprov.lifecycle.lineage import LineageMeta, StateStore


def _ok(result: Any) -> None:
    assert result.returncode == 0, (
        f"{result.args}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
    )


def _assert_private(found: list[Path], expected: list[Path]) -> None:
    missing = [p for p in expected if p not in found]
    assert not missing, f"expected key files not found: {missing}"
    bad = [
        f"{p} {H.mode(p):04o} in {p.parent} {H.mode(p.parent):04o}"
        for p in found
        if H.mode(p) != 0o600 or H.mode(p.parent) != 0o700
    ]
    assert not bad, "private keys not 0600 in 0700 folders:\n" + "\n".join(bad)


@pytest.mark.parametrize("umask", H.UMASKS, ids=lambda u: f"umask{u:03o}")
def test_every_cli_path_writes_private_keys(
    umask: int, make_sandbox: Any, pebble: Any, tmp_path: Path
) -> None:
    box = make_sandbox()
    env = {**box.env, "HOME": str(tmp_path)}
    work = tmp_path / "work"
    work.mkdir()
    ca_dir, server, client = work / "ca", work / "server", work / "client"
    server2, acme_out, account = work / "server2", work / "acme", work / "acme-account"

    def cli(*args: str) -> Any:
        return H.run_cli(args, env, umask=umask)

    _ok(cli("ca", "init", "--ca-dir", str(ca_dir), "--key-type", "ec256"))
    common = ["--ca-dir", str(ca_dir), "--key-type", "ec256"]
    _ok(cli("issue", H.HOST, "--alt-name", "127.0.0.1", "--out", str(server), *common))
    _ok(cli("issue", "client.harbor.test", "--client", "--out", str(client), *common))
    _ok(cli("issue", H.HOST, "--out", str(acme_out), *H.acme_args(pebble, account)))
    install = [
        "install", "--host", H.HOST, "--port", str(H.PORT), "--root", str(box.root),
        "--targets", "harbor,docker", "--client-bundle", str(client),
    ]  # fmt: skip
    _ok(cli(*install, "--bundle", str(server)))
    # A second install with a new key: the replaced keys go to the backups.
    _ok(cli("issue", H.HOST, "--alt-name", "127.0.0.1", "--out", str(server2), *common))
    _ok(cli(*install, "--bundle", str(server2)))
    _ok(cli("demo", "--dir", str(work / "demo"), "--key-type", "ec256", "--no-nginx"))

    certs_d = box.root / "etc" / "docker" / "certs.d" / f"{H.HOST}:{H.PORT}"
    backups = box.root / "var" / "lib" / "tlsprov" / "backups"
    backup_keys = [
        p for p in backups.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()
    ]
    assert len(backup_keys) >= 1, sorted(backups.rglob("*"))  # Harbor's old key (Docker's
    # certs.d holds no server key since issue 12, and the client key did not change)
    expected = [
        ca_dir / "ca.key",
        server / f"{H.HOST}.key",
        client / "client.harbor.test.key",
        acme_out / f"{H.HOST}.key",
        account / "account.key",
        box.root / "data" / "cert" / f"{H.HOST}.key",
        certs_d / "client.key",
        work / "demo" / "root" / "etc" / "tlsprov" / "ca" / "ca.key",
        work / "demo" / "root" / "data" / "cert" / f"{H.HOST}.key",
        work / "demo" / "root" / "var" / "lib" / "tlsprov" / "live" / H.HOST / f"{H.HOST}.key",
        *backup_keys,
    ]
    # data/secret is written by the stand-ins for Harbor's prepare (the test's and the demo's
    # sandbox one), copying the key the way Harbor does; tlsprov itself never writes there.
    secret_dirs = (box.root / "data" / "secret", work / "demo" / "root" / "data" / "secret")
    found = H.key_files(tmp_path, exclude=secret_dirs)
    found += H.key_files(box.root, exclude=secret_dirs)
    _assert_private(sorted(set(found)), expected)
    for folder in (backups, *(p for p in backups.rglob("*") if p.is_dir())):
        assert H.mode(folder) == 0o700, folder


@pytest.mark.parametrize("umask", H.UMASKS, ids=lambda u: f"umask{u:03o}")
def test_lineage_live_and_archive_keys_are_private(umask: int, tmp_path: Path) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    request = tlsprov.make_request([H.HOST, "127.0.0.1"])
    store = StateStore(tmp_path / "state")
    old = os.umask(umask)
    try:
        for _ in range(3):  # version 1, then two renewals: archive/<H>/1 and /2
            bundle = provider.issue(request)
            store.save(H.HOST, bundle, LineageMeta.from_bundle(H.HOST, "selfsigned", bundle))
    finally:
        os.umask(old)
    live = store.live_dir(H.HOST)
    archive = store.archive_dir(H.HOST)
    expected = [live / f"{H.HOST}.key", archive / "1" / f"{H.HOST}.key"]
    expected.append(archive / "2" / f"{H.HOST}.key")
    _assert_private(H.key_files(tmp_path / "state"), expected)
    for folder in (store.dir, store.dir / "live", store.dir / "archive", archive):
        assert H.mode(folder) == 0o700, f"{folder} {H.mode(folder):04o}"


@pytest.mark.parametrize("umask", (0o000, 0o077), ids=lambda u: f"umask{u:03o}")
def test_provision_and_renew_write_private_keys(umask: int, make_sandbox: Any) -> None:
    box = make_sandbox()
    config = box.base / "tlsprov.toml"
    ca_dir = box.root / "etc" / "tlsprov" / "ca"  # the host's /etc/tlsprov/ca, in the sandbox
    config.write_text(
        f'[harbor]\nhostname = "{H.HOST}"\nhttps_port = {H.PORT}\nalt_names = ["127.0.0.1"]\n'
        f'install_dir = "/opt/harbor"\n[provider]\nname = "selfsigned"\n'
        f'[provider.selfsigned]\nca_dir = "/etc/tlsprov/ca"\nkey_type = "ec256"\n'
        f'[install]\nroot = "{box.root}"\ntargets = ["harbor", "docker"]\nverify = false\n',
        encoding="utf-8",
    )
    for args in (["provision"], ["renew", "--force"], ["renew", "--force"]):
        _ok(H.run_cli([*args, "--config", str(config)], box.env, umask=umask))
    state = box.root / "var" / "lib" / "tlsprov"
    live, archive = state / "live" / H.HOST, state / "archive" / H.HOST
    expected = [
        ca_dir / "ca.key",
        live / f"{H.HOST}.key",
        archive / "1" / f"{H.HOST}.key",
        archive / "2" / f"{H.HOST}.key",
        box.root / "data" / "cert" / f"{H.HOST}.key",
    ]
    found = H.key_files(box.base, exclude=(box.root / "data" / "secret",))
    _assert_private(found, expected)
    for folder in (state, state / "live", state / "archive", archive):
        assert H.mode(folder) == 0o700, f"{folder} {H.mode(folder):04o}"
