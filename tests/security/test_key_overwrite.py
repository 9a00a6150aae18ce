"""The CA key is never replaced without ``--force``; the ACME account key never silently.

``ca init`` twice: the second run fails and both CA files stay byte-identical; ``--force``
replaces them. ``issue`` never touches an existing CA. The ACME account key is created once
and reused byte-identical by later runs, including when its registration file is lost (the
account is looked up again with the same key, whatever the key file's PEM flavour), and a
corrupt account key is an error rather than a reason to make a new one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tlsprov_security_helpers as H
from cryptography.hazmat.primitives import serialization

from tlsprov.pki.x509 import load_private_key


def _env(tmp_path: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}


def test_ca_init_never_replaces_without_force(tmp_path: Path) -> None:
    env = _env(tmp_path)
    ca = tmp_path / "ca"
    init = ["ca", "init", "--ca-dir", str(ca), "--key-type", "ec256"]
    assert H.run_cli(init, env).returncode == 0
    before = {name: (ca / name).read_bytes() for name in ("ca.key", "ca.crt")}

    again = H.run_cli([*init, "--json"], env)
    assert again.returncode == 2, again.stderr
    assert json.loads(again.stdout)["ok"] is False
    assert "--force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert {name: (ca / name).read_bytes() for name in before} == before

    # Only one half present: still refused without --force.
    (ca / "ca.crt").unlink()
    half = H.run_cli(init, env)
    assert half.returncode == 2
    assert (ca / "ca.key").read_bytes() == before["ca.key"]
    assert not (ca / "ca.crt").exists()

    # issue never replaces the CA either (it reports the missing half instead).
    out = tmp_path / "out"
    issued = H.run_cli(["issue", "a.harbor.test", "--ca-dir", str(ca), "--out", str(out)], env)
    assert issued.returncode == 2, issued.stderr
    assert (ca / "ca.key").read_bytes() == before["ca.key"]

    forced = H.run_cli([*init, "--force"], env)
    assert forced.returncode == 0, forced.stderr
    assert (ca / "ca.key").read_bytes() != before["ca.key"]
    assert H.mode(ca / "ca.key") == 0o600


def test_issue_reuses_the_ca_byte_identical(tmp_path: Path) -> None:
    env = _env(tmp_path)
    ca = tmp_path / "ca"
    args = ["--ca-dir", str(ca), "--key-type", "ec256"]
    assert H.run_cli(["ca", "init", *args], env).returncode == 0
    key = (ca / "ca.key").read_bytes()
    first = H.run_cli(["issue", "a.harbor.test", *args, "--out", str(tmp_path / "a")], env)
    assert first.returncode == 0, first.stderr
    assert (ca / "ca.key").read_bytes() == key
    second = H.run_cli(["issue", "b.harbor.test", *args, "--out", str(tmp_path / "b")], env)
    assert second.returncode == 0, second.stderr
    assert (ca / "ca.key").read_bytes() == key


def _issue(pebble: Any, account: Path, out: Path) -> Any:
    return H.run_cli(
        ["issue", "acme.harbor.test", "--out", str(out), *H.acme_args(pebble, account), "--json"],
        {"PATH": "/usr/bin:/bin", "HOME": str(out.parent)},
    )


def test_acme_account_key_is_created_once_and_reused(pebble: Any, tmp_path: Path) -> None:
    account = tmp_path / "account"
    first = _issue(pebble, account, tmp_path / "one")
    assert first.returncode == 0, first.stderr
    key = (account / "account.key").read_bytes()
    regr = (account / "account.json").read_bytes()

    second = _issue(pebble, account, tmp_path / "two")
    assert second.returncode == 0, second.stderr
    assert (account / "account.key").read_bytes() == key
    assert (account / "account.json").read_bytes() == regr
    assert "registered a new ACME account" not in second.stderr

    # The registration file is lost and the key is in another PEM flavour (SEC1, as openssl
    # ecparam writes it): the account is found again by its key, and the key file is kept.
    sec1 = load_private_key(key).private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (account / "account.key").write_bytes(sec1)
    (account / "account.json").unlink()
    third = _issue(pebble, account, tmp_path / "three")
    assert third.returncode == 0, third.stderr
    assert (account / "account.key").read_bytes() == sec1
    assert json.loads((account / "account.json").read_text())["uri"] == json.loads(regr)["uri"]


def test_a_corrupt_account_key_is_an_error_not_replaced(pebble: Any, tmp_path: Path) -> None:
    account = tmp_path / "account"
    account.mkdir(mode=0o700)
    junk = b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    (account / "account.key").write_bytes(junk)
    result = _issue(pebble, account, tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert (account / "account.key").read_bytes() == junk
    assert not (account / "account.json").exists()
    assert not (tmp_path / "out").exists()


def test_the_provider_writes_the_account_key_only_when_it_made_it() -> None:
    """Source check: one key write in the letsencrypt package, guarded by ``new_key``."""
    import ast
    import inspect

    import tlsprov_letsencrypt._client as client

    tree = ast.parse(inspect.getsource(client))
    writes = [
        (func.name, node)
        for func in ast.walk(tree)
        if isinstance(func, ast.FunctionDef)
        for node in ast.walk(func)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "write_private"
    ]
    assert [name for name, _ in writes] == ["_save_account"]
    save = next(f for f in ast.walk(tree) if getattr(f, "name", "") == "_save_account")
    guarded = [
        n for n in ast.walk(save) if isinstance(n, ast.If) and "new_key" in ast.unparse(n.test)
    ]
    assert guarded and any(writes[0][1] in ast.walk(g) for g in guarded)
    package = Path(client.__file__).parent
    others = [p.name for p in package.glob("*.py") if p != Path(client.__file__)]
    for name in others:
        assert "write_private" not in (package / name).read_text(), name


def test_issue_never_replaces_a_key_without_force(tmp_path: Path) -> None:
    env = _env(tmp_path)
    out = tmp_path / "out"
    issue = ["issue", "a.harbor.test", "--ca-dir", str(tmp_path / "ca"), "--out", str(out)]
    assert H.run_cli([*issue, "--key-type", "ec256"], env).returncode == 0, "first issue"
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    again = H.run_cli([*issue, "--key-type", "ec256"], env)
    assert again.returncode == 2, again.stderr
    assert len(again.stderr.strip().splitlines()) == 1, again.stderr
    assert "already exists" in again.stderr and "--force" in again.stderr, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    forced = H.run_cli([*issue, "--key-type", "ec256", "--force"], env)
    assert forced.returncode == 0, forced.stderr
    assert (out / "a.harbor.test.key").read_bytes() != before["a.harbor.test.key"]
