"""No key material in logs, JSON output, exception text or ``repr``.

A full run (``ca init`` with an encrypted CA key, ``issue``, ``install``, ``provision``,
``renew --force``, ``status``, ACME issuance with external account binding, and a set of
failing commands) is scanned, with ``-v`` debug logging and with ``--json``: every stdout and
stderr, the state folder's ``log.jsonl``, ``meta.json`` files and backup manifests. The scan
looks for a PEM private key header, for 40-character pieces of the base64 body of every
private key written during the run (read back from the key files), for the CA passphrase and
for the EAB HMAC key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import tlsprov_security_helpers as H

import tlsprov
from tlsprov.errors import TlsprovError
from tlsprov.lifecycle.config import load_config

EAB_KID = "kid-sec"
EAB_HMAC = "Yq3MzVt8Rw2bJx6nLk1pHs9dFg4aCe7uZo5iNy0rTv2QmXwB8PjKlE3hGf6sDa1U"
WRONG_HMAC = "Bv7Nc2Xz9Lk4Jh6Gf1Ds8Aq3Wp5Eo0Ri7Tu2Yy9Mn4Bb6Vc1Xz8Lk3Jh5Gf0Ds2"
WRONG_PASSPHRASE = "wrong-passphrase-zz9Q"


def _config(path: Path, root: Path, ca_dir: Path, port: int) -> Path:
    path.write_text(
        f"""
[harbor]
hostname = "{H.HOST}"
https_port = {port}
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{ca_dir}"
key_type = "ec256"
ca_passphrase = {{ env = "SEC_CA_PASS" }}

[install]
root = "{root}"
targets = ["harbor", "docker", "os-trust"]
verify = false
""",
        encoding="utf-8",
    )
    return path


class Transcript:
    """Every output of every command, plus the files that must not hold secrets."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.texts: dict[str, str] = {}

    def run(self, *args: str, ok: bool = True) -> Any:
        result = H.run_cli(args, self.env)
        label = " ".join(args[:3])
        if ok:
            assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
        else:
            assert result.returncode != 0, f"{args} should fail\n{result.stdout}"
            assert "Traceback" not in result.stderr, result.stderr
        self.texts[f"{len(self.texts)} stdout {label}"] = result.stdout
        self.texts[f"{len(self.texts)} stderr {label}"] = result.stderr
        return result

    def add_file(self, path: Path) -> None:
        self.texts[str(path)] = path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def eab_pebble(pebble_factory: Any) -> Any:
    """A Pebble that requires external account binding with (EAB_KID, EAB_HMAC)."""
    return pebble_factory(
        config={
            "externalAccountBindingRequired": True,
            "externalAccountMACKeys": {EAB_KID: EAB_HMAC},
        }
    )


def test_full_run_leaks_no_key_material(make_sandbox: Any, eab_pebble: Any, tmp_path: Path) -> None:
    box = make_sandbox()
    env = {**box.env, "HOME": str(tmp_path), "SEC_CA_PASS": H.CA_PASSPHRASE}
    t = Transcript(env)
    ca = tmp_path / "ca"
    pass_env = ["--ca-passphrase-env", "SEC_CA_PASS"]
    common = ["--ca-dir", str(ca), "--key-type", "ec256", *pass_env]
    t.run("-v", "ca", "init", *common, "--json")
    assert b"ENCRYPTED PRIVATE KEY" in (ca / "ca.key").read_bytes()
    server, client = tmp_path / "server", tmp_path / "client"
    t.run("-v", "issue", H.HOST, "--alt-name", "127.0.0.1", "--out", str(server), *common)
    t.run("-v", "issue", "client.harbor.test", "--client", "--out", str(client), *common, "--json")
    t.run("-v", "inspect", str(server / f"{H.HOST}.crt"), "--json")
    install = ["-v", "install", "--bundle", str(server), "--host", H.HOST, "--port", "8443"]
    install += ["--root", str(box.root), "--targets", "harbor,docker", "--client-bundle"]
    install += [str(client)]
    t.run(*install, "--json")
    t.run(*install, "--dry-run")
    t.run(*install)  # nothing to do

    cfg = ["--config", str(_config(tmp_path / "tlsprov.toml", box.root, ca, 8443))]
    t.run("-v", "provision", *cfg, "--json")
    t.run("-v", "provision", *cfg)  # reuses the lineage
    t.run("-v", "renew", *cfg, "--force", "--json")
    t.run("-v", "status", *cfg, "--json")
    t.run("-v", "status", *cfg)
    t.run("-v", "provision", *cfg, "--dry-run", "--json")

    account = tmp_path / "acme-account"
    acme = [*H.acme_args(eab_pebble, account), "--eab-kid", EAB_KID]
    t.run("-v", "issue", H.HOST, "--out", str(tmp_path / "acme"), *acme,
          "--eab-hmac-key", EAB_HMAC, "--json")  # fmt: skip
    assert (account / "account.key").is_file()

    # Failures: their one line must not quote a secret either.
    t.run("-v", "issue", "x.harbor.test", "--ca-dir", str(ca), "--out", str(tmp_path / "x"),
          "--ca-passphrase", WRONG_PASSPHRASE, ok=False)  # fmt: skip
    t.run("-v", "issue", "y.harbor.test", "--ca-dir", str(ca), "--out", str(tmp_path / "y"),
          ok=False)  # encrypted CA key, no passphrase  # fmt: skip
    t.run("-v", "issue", H.HOST, "--out", str(tmp_path / "acme2"),
          *H.acme_args(eab_pebble, tmp_path / "acme-account2"), "--eab-kid", EAB_KID,
          "--eab-hmac-key", WRONG_HMAC, "--json", ok=False)  # fmt: skip
    mismatched = tmp_path / "mismatched"
    shutil.copytree(server, mismatched)
    shutil.copy(client / "client.harbor.test.key", mismatched / f"{H.HOST}.key")
    t.run("-v", "install", "--bundle", str(mismatched), "--host", H.HOST, "--root",
          str(box.root), "--targets", "docker", "--json", ok=False)  # fmt: skip
    broken = tmp_path / "broken"
    shutil.copytree(server, broken)
    key_text = (server / f"{H.HOST}.key").read_text()
    (broken / f"{H.HOST}.key").write_text(key_text.replace("\n", "\n!", 2))
    t.run("-v", "install", "--bundle", str(broken), "--host", H.HOST, "--root",
          str(box.root), "--targets", "docker", ok=False)  # fmt: skip
    t.run("-v", "inspect", str(server / f"{H.HOST}.key"), ok=False)

    state = box.root / "var" / "lib" / "tlsprov"
    scanned = [p for p in state.rglob("*") if p.is_file() and p.name.endswith((".json", ".jsonl"))]
    assert state / "log.jsonl" in scanned
    assert any(p.name == "manifest.json" for p in scanned)
    assert any(p.name == "meta.json" for p in scanned)
    for path in scanned:
        t.add_file(path)

    keys = H.key_files(tmp_path) + H.key_files(box.root)
    names = {p.name for p in keys}
    assert {"ca.key", f"{H.HOST}.key", "client.harbor.test.key", "account.key"} <= names
    pieces = sorted({piece for p in keys for piece in H.key_fingerprints(p.read_bytes())})
    for piece in pieces:  # positive control: each piece really is in a key file
        assert any(piece in H.flatten(p.read_text()) for p in keys), piece
    assert len(pieces) >= 8  # one or more per key: CA, leaves, client, Docker, ACME, account
    secrets = [*pieces, H.CA_PASSPHRASE, EAB_HMAC, WRONG_HMAC, WRONG_PASSPHRASE, "PRIVATE KEY-"]
    leaks = [
        f"{secret[:12]}... in {where}"
        for where, text in t.texts.items()
        for secret in secrets
        if secret in text or secret in H.flatten(text)
    ]
    detail = {w: t.texts[w][-2000:] for w in {leak.split(" in ", 1)[1] for leak in leaks}}
    assert not leaks, "\n".join(leaks) + "\n" + json.dumps(detail, indent=1)
    assert json.loads(t.texts["0 stdout -v ca init"])["ok"] is True  # the scan saw real output


def test_reprs_and_exceptions_hide_secrets(tmp_path: Path, pebble: Any, make_sandbox: Any) -> None:
    from tlsprov.install.engine import plan_install
    from tlsprov.models import InstallContext
    from tlsprov.plugins.registry import default_registry

    secret_env = {"SEC_CA_PASS_REPR": H.CA_PASSPHRASE}
    import os

    os.environ.update(secret_env)
    try:
        managed = tlsprov.get_provider(
            "selfsigned", ca_dir=tmp_path / "ca", key_type="ec256", ca_passphrase=H.CA_PASSPHRASE
        )
        bundle = managed.issue(tlsprov.make_request([H.HOST, "127.0.0.1"]))
        by_env = tlsprov.get_provider(
            "selfsigned", ca_dir=tmp_path / "ca", ca_passphrase={"env": "SEC_CA_PASS_REPR"}
        )
        by_env.issue(tlsprov.make_request(["other.harbor.test"]))
    finally:
        for name in secret_env:
            os.environ.pop(name, None)
    acme = tlsprov.get_provider(
        "letsencrypt",
        directory=pebble.directory,
        ca_bundle=str(pebble.listener.ca),
        account_dir=str(tmp_path / "acct"),
        eab_kid=EAB_KID,
        eab_hmac_key=EAB_HMAC,
    )
    from tlsprov_selfsigned._ca import load_ca

    ca = load_ca(tmp_path / "ca", lambda: H.CA_PASSPHRASE.encode())
    box = make_sandbox()
    context = InstallContext(root=box.root, host=H.HOST, port=8443)
    plan = plan_install(bundle, context, ["harbor", "docker"], registry=default_registry())
    cfg_path = tmp_path / "tlsprov.toml"
    cfg_path.write_text(
        f'[harbor]\nhostname = "{H.HOST}"\n[provider]\nname = "letsencrypt"\n'
        f'[provider.letsencrypt]\ndirectory = "{pebble.directory}"\neab_kid = "{EAB_KID}"\n'
        f'eab_hmac_key = "{EAB_HMAC}"\n[install]\nroot = "{box.root}"\n',
        encoding="utf-8",
    )
    config = load_config(cfg_path)
    objects: list[Any] = [
        bundle, managed, managed.impl, managed.impl.options, by_env.impl, by_env.impl.options,
        acme, acme.impl, acme.impl.options, ca, plan, *plan.actions, *plan.plans, context,
        config,
    ]  # fmt: skip
    texts = [repr(o) for o in objects] + [str(o) for o in objects]
    # Exceptions on the way: a wrong passphrase and a key that does not match.
    wrong = tlsprov.get_provider(
        "selfsigned", ca_dir=tmp_path / "ca", ca_passphrase=WRONG_PASSPHRASE
    )
    with pytest.raises(TlsprovError) as info:
        wrong.issue(tlsprov.make_request(["z.harbor.test"]))
    texts += [str(info.value), repr(info.value), info.value.one_line()]
    other = managed.issue(tlsprov.make_request(["o.harbor.test"]))
    from dataclasses import replace

    from tlsprov.pki.bundlecheck import check_bundle

    with pytest.raises(TlsprovError) as info:
        check_bundle(replace(bundle, private_key_pem=other.private_key_pem), host=H.HOST)
    texts += [str(info.value), repr(info.value), info.value.one_line()]

    pieces = H.key_fingerprints(bundle.private_key_pem + other.private_key_pem)
    pieces += H.key_fingerprints((tmp_path / "ca" / "ca.key").read_bytes())
    secrets = [*pieces, H.CA_PASSPHRASE, EAB_HMAC, WRONG_PASSPHRASE, "PRIVATE KEY-"]
    leaks = [
        f"{s[:12]}... in {text[:80]!r}"
        for text in texts
        for s in secrets
        if s in text or s in H.flatten(text)
    ]
    assert not leaks, "\n".join(leaks)
