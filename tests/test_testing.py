"""The helpers in ``tlsprov.testing`` (used by this suite and by plugin authors)."""

from __future__ import annotations

import dataclasses
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tlsprov_test_good

import tlsprov
from tlsprov.models import CertificateRequest, IssuedBundle
from tlsprov.testing import (
    check_provider_conformance,
    free_port,
    registry_with,
    tree_snapshot,
    wait_for_port,
)


def test_tree_snapshot_records_files_dirs_links_and_modes(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o700)
    (tmp_path / "d" / "k").write_bytes(b"key")
    os.chmod(tmp_path / "d" / "k", 0o600)
    (tmp_path / "f").write_bytes(b"data")
    (tmp_path / "link").symlink_to("d/k")
    snap = tree_snapshot(tmp_path)
    assert list(snap) == ["d", "d/k", "f", "link"]
    assert stat.S_ISDIR(snap["d"][0]) and stat.S_IMODE(snap["d"][0]) == 0o700
    assert snap["d"][1] is None
    assert stat.S_IMODE(snap["d/k"][0]) == 0o600
    assert snap["d/k"][1] == b"key"
    assert stat.S_ISLNK(snap["link"][0])
    assert snap["link"][1] == b"d/k"

    before = dict(snap)
    os.chmod(tmp_path / "f", 0o640)
    assert tree_snapshot(tmp_path) != before  # a mode change is visible
    assert tree_snapshot(tmp_path / "missing") == {}


@pytest.mark.timeout(20)
def test_tree_snapshot_leaves_out_excluded_subtrees_without_reading_them(tmp_path: Path) -> None:
    state = tmp_path / "var" / "lib" / "tlsprov"
    (state / "backups").mkdir(parents=True)
    os.mkfifo(state / "backups" / "pipe")  # reading it would block: it must not be opened
    (tmp_path / "var" / "lib" / "tlsprov-other").write_bytes(b"kept")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "a.crt").write_bytes(b"a")
    (tmp_path / "etc" / "skip.me").write_bytes(b"x")

    snap = tree_snapshot(tmp_path, exclude=["var/lib/tlsprov/", "etc/skip.me"])
    assert sorted(snap) == ["etc", "etc/a.crt", "var", "var/lib", "var/lib/tlsprov-other"]
    assert snap["var/lib/tlsprov-other"][1] == b"kept"
    whole = tree_snapshot(tmp_path, exclude=["var/lib/tlsprov/backups/pipe"])
    assert "var/lib/tlsprov/backups" in whole and "etc/skip.me" in whole


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 < port < 65536


def test_wait_for_port_returns_once_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        wait_for_port("127.0.0.1", sock.getsockname()[1], timeout=5)


def test_wait_for_port_times_out() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}"):
        wait_for_port("127.0.0.1", port, timeout=0.2)


def test_wait_for_port_reports_an_exited_process_with_its_log(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "print('bind: address in use'); raise SystemExit(3)"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            with pytest.raises(RuntimeError) as info:
                wait_for_port("127.0.0.1", free_port(), timeout=30, proc=proc, log=log)
        finally:
            proc.wait(10)
    assert "exited with 3" in str(info.value)
    assert "bind: address in use" in str(info.value)


# --- check_provider_conformance: passes for a good provider, names what a bad one breaks ----


class _Tampering:
    """Wraps the test-good provider and breaks its bundles in one way."""

    def __init__(self, how: str) -> None:
        self.inner = registry_with(tlsprov_test_good).get_provider("test-good")
        self.how = how

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        bundle = self.inner.issue(request)
        other = self.inner.issue(tlsprov.make_request(["other.test"]))
        if self.how == "key":
            return dataclasses.replace(bundle, private_key_pem=other.private_key_pem)
        if self.how == "names":
            return dataclasses.replace(
                bundle, leaf_pem=other.leaf_pem, private_key_pem=other.private_key_pem
            )
        if self.how == "ca":
            fresh = registry_with(tlsprov_test_good).get_provider("test-good")
            return dataclasses.replace(bundle, ca_pem=fresh.issue(request).ca_pem)
        raise AssertionError(self.how)


def test_conformance_accepts_a_good_provider() -> None:
    provider = registry_with(tlsprov_test_good).get_provider("test-good")
    request = tlsprov.make_request(["harbor.test", "*.harbor.test", "127.0.0.1", "::1"])
    bundle = check_provider_conformance(provider, request)
    assert bundle.leaf_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    client = tlsprov.make_request(["robot"], usage=tlsprov.Usage.CLIENT, key_type="ec384")
    check_provider_conformance(provider, client)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("key", "does not match the leaf"),
        ("names", "does not cover harbor.test"),
        ("ca", "is not signed by"),
    ],
)
def test_conformance_names_what_is_wrong(how: str, message: str) -> None:
    request = tlsprov.make_request(["harbor.test"], key_type="ec256")
    with pytest.raises(AssertionError, match=message):
        check_provider_conformance(_Tampering(how), request)


def test_conformance_checks_the_key_type() -> None:
    provider = registry_with(tlsprov_test_good).get_provider("test-good")

    class WrongKey:
        def issue(self, request: CertificateRequest) -> IssuedBundle:
            return provider.issue(dataclasses.replace(request, key_type=tlsprov.KeyType.EC384))

    with pytest.raises(AssertionError, match="asked for a EC P-256 256 key, got EC P-384 384"):
        check_provider_conformance(WrongKey(), tlsprov.make_request(["a.test"], key_type="ec256"))
