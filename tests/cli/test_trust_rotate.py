"""``tlsprov trust`` and ``tlsprov ca rotate`` on bad input, passphrases and a failed step."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tlsprov.errors import InputError
from tlsprov.pki.pinning import normalize_fingerprint
from tlsprov.pki.x509 import fingerprint, load_certs

FP = "AB:" * 31 + "CD"


@pytest.mark.parametrize(
    "text",
    [FP, FP.lower(), "sha256:" + FP, "SHA256:" + FP.lower(), FP.replace(":", ""), f"  {FP} "],
)
def test_fingerprint_spellings(text: str) -> None:
    assert normalize_fingerprint(text) == FP


@pytest.mark.parametrize("text", ["", "sha1:" + FP, FP[:-3], FP + ":00", "zz" * 32])
def test_bad_fingerprints(text: str) -> None:
    with pytest.raises(InputError, match="not a SHA-256 fingerprint"):
        normalize_fingerprint(text)


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc" / "docker").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=debian\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "one of the arguments --ca --from-harbor is required"),
        (("--ca", "{ca}", "--from-harbor"), "not allowed with argument"),
        (("--ca", "{ca}", "--connect", "127.0.0.1:99999"), "not a valid port"),
        (("--ca", "{ca}", "--targets", " , "), "--targets is empty"),
        (("--ca", "{ca}", "--targets", "docker,nope"), "'nope' is not a client target"),
        (
            (
                "--ca",
                "{missing}",
            ),
            "cannot read the CA file",
        ),
        (("--ca", "{ca}", "--client-bundle", "{missing}"), "does not exist"),
        (("--ca", "{ca}", "--fingerprint", "xyz"), "not a SHA-256 fingerprint"),
    ],
)
def test_trust_bad_input_is_one_line_and_changes_nothing(
    cli: Callable[..., Any],
    make_ca: Callable[..., Path],
    tree: Callable[..., Any],
    tmp_path: Path,
    args: tuple[str, ...],
    needle: str,
) -> None:
    ca = make_ca() / "ca.crt"
    root = _root(tmp_path)
    before = tree(root)
    filled = [a.format(ca=ca, missing=tmp_path / "missing") for a in args]
    res = cli("trust", "harbor.test:8443", "--root", root, *filled)
    assert res.code == 2, res.err
    assert len(res.err_lines) == 1 and needle in res.err, res.err
    assert "Traceback" not in res.err
    assert tree(root) == before


def test_trust_dry_run_then_apply_then_nothing(
    cli: Callable[..., Any], make_ca: Callable[..., Path], tmp_path: Path
) -> None:
    ca = make_ca() / "ca.crt"
    root = _root(tmp_path)
    args = ("trust", "harbor.test:8443", "--ca", ca, "--targets", "podman", "--root", root)
    dry = cli(*args, "--dry-run")
    assert dry.code == 0, dry.err
    assert "create    /etc/containers/certs.d/harbor.test:8443/ca.crt" in dry.out
    assert not (root / "etc" / "containers").exists()
    first = cli(*args, "--json")
    assert first.code == 0 and json.loads(first.out)["changed"] is True, first.err
    second = cli(*args, "--json")
    doc = json.loads(second.out)
    assert doc["changed"] is False and doc["restarts"] == []
    assert (root / "etc/containers/certs.d/harbor.test:8443/ca.crt").read_bytes() == ca.read_bytes()


def test_rotate_with_an_encrypted_ca(cli: Callable[..., Any], make_ca: Callable[..., Path]) -> None:
    ca_dir = make_ca("enc", "--ca-passphrase", "s3cret")
    refused = cli("ca", "rotate", "--ca-dir", ca_dir, "--key-type", "ec256")
    assert refused.code == 2 and "no passphrase" in refused.err, refused.err
    assert not (ca_dir / "next.key").exists()
    done = cli("ca", "rotate", "--ca-dir", ca_dir, "--key-type", "ec256", "--ca-passphrase",
               "s3cret", "--json")  # fmt: skip
    assert done.code == 0, done.err
    assert b"ENCRYPTED" in (ca_dir / "next.key").read_bytes()
    switched = cli("ca", "rotate", "--ca-dir", ca_dir, "--switch", "--ca-passphrase", "s3cret")
    assert switched.code == 0, switched.err
    issued = cli("issue", "harbor.test", "--ca-dir", ca_dir, "--out", ca_dir.parent / "b",
                 "--key-type", "ec256", "--ca-passphrase", "s3cret")  # fmt: skip
    assert issued.code == 0, issued.err
    new_fp = json.loads(done.out)["rotation"]["new_sha256"]
    assert fingerprint(load_certs((ca_dir.parent / "b" / "ca.crt").read_bytes())[0]) == new_fp


def test_a_failed_step_restores_every_file(
    cli: Callable[..., Any], make_ca: Callable[..., Path], tree: Callable[..., Any]
) -> None:
    ca_dir = make_ca("roll")
    assert cli("ca", "rotate", "--ca-dir", ca_dir, "--key-type", "ec256").code == 0
    # ca.crt as a symlink: the switch reads it, writes previous.* and ca.key, then refuses to
    # write through the link and must undo what it wrote.
    real = ca_dir / "ca.crt.real"
    (ca_dir / "ca.crt").rename(real)
    (ca_dir / "ca.crt").symlink_to(real.name)
    before = tree(ca_dir)
    backups_before = set((ca_dir / "backups").iterdir())
    failed = cli("ca", "rotate", "--ca-dir", ca_dir, "--switch")
    assert failed.code != 0
    assert len(failed.err_lines) == 1, failed.err
    assert "symbolic link" in failed.err and "every file of this step was restored" in failed.err
    after = tree(ca_dir)
    new_backups = set((ca_dir / "backups").iterdir()) - backups_before
    assert len(new_backups) == 1  # the backup of the failed step stays for inspection
    backup = str(next(iter(new_backups)))
    trimmed = {k: v for k, v in after[str(ca_dir)][1].items() if not k.startswith("backups")}
    assert trimmed == {k: v for k, v in before[str(ca_dir)][1].items() if
                       not k.startswith("backups")}, backup  # fmt: skip
    state = json.loads((ca_dir / "rotation.json").read_text())
    assert state["phase"] == "distribute"
