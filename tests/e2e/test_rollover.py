"""CA rollover end to end: distribute, switch, retire, with real clients (skopeo) in each phase.

Three clients: B trusts both CAs before the switch (through ``tlsprov trust --from-harbor``
pinned by both fingerprints), C receives only the new CA after the switch, A never gets the new
bundle. nginx serves the Harbor host's leaf on one port throughout.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.pki.pinning import GETCERT_PATH
from tlsprov.pki.x509 import fingerprint, load_cert, load_certs, split_pem

pytestmark = pytest.mark.e2e


def _fps(path: Path) -> list[str]:
    return [fingerprint(c) for c in load_certs(path.read_bytes())]


def _issuer_fp(leaf: Path, ca_file: Path) -> str:
    cert = load_cert(leaf.read_bytes())
    for ca in load_certs(ca_file.read_bytes()):
        if ca.subject == cert.issuer:
            return fingerprint(ca)
    raise AssertionError("no issuer in ca.crt")


class Site:
    """A CA folder, the Harbor host sandbox and a proxy that can be restarted on one port."""

    def __init__(self, base: Path, sandbox: Any, nginx: Any) -> None:
        self.base = base
        self.issued = S.Issued(base / "issued")
        self.nginx = nginx
        self.port = S.free_port()
        self.box = sandbox("debian")
        self.server: Any = None
        self.version = 0

    def tlsprov(self, *args: str) -> subprocess.CompletedProcess[str]:
        return S.run_tlsprov(list(args), self.issued.env)

    def rotate(self, *flags: str) -> dict[str, Any]:
        result = self.tlsprov("ca", "rotate", "--ca-dir", str(self.issued.ca_dir), *flags, "--json")
        assert result.returncode == 0, S.describe(result)
        info: dict[str, Any] = json.loads(result.stdout)["rotation"]
        return info

    def serve_new_leaf(self) -> Path:
        """Issue, install on the Harbor host, and (re)start the proxy with that leaf."""
        self.version += 1
        bundle = self.issued.issue(S.HOST, self.base / f"server{self.version}", "--alt-name",
                                   "127.0.0.1")  # fmt: skip
        installed = self.box.install(bundle, self.port, "--targets", "harbor,docker")
        assert installed.returncode == 0, S.describe(installed)
        secret = self.box.path("/data/secret/cert")
        include = self.base / f"proxy{self.version}.conf"
        published = self.box.path("/data/ca_download/ca.crt")
        include.write_text(
            f"ssl_certificate {secret / 'server.crt'};\n"
            f"ssl_certificate_key {secret / 'server.key'};\n"
            f"location = {GETCERT_PATH} {{\n  alias {published};\n}}\n",
            encoding="utf-8",
        )
        if self.server is not None:
            S.stop_process(self.server.proc)
        self.server = self.nginx(include, port=self.port)
        return bundle


def _client(sandbox: Any, site: Site, *args: str) -> Any:
    box = sandbox(harbor_yml=None)
    result = box.tlsprov(
        "trust", f"{S.HOST}:{site.port}", "--targets", "podman", "--root", str(box.root), *args
    )
    assert result.returncode == 0, S.describe(result)
    return box


def _push(skopeo: Any, site: Site, box: Any, repo: str) -> subprocess.CompletedProcess[str]:
    folder = box.path(f"/etc/containers/certs.d/{S.HOST}:{site.port}")
    result: subprocess.CompletedProcess[str] = skopeo.push(site.port, cert_dir=folder, repo=repo)
    return result


def test_rollover_keeps_prepared_clients_working(
    sandbox: Any, nginx: Any, skopeo: Any, registry: int, tmp_path: Path
) -> None:
    site = Site(tmp_path, sandbox, nginx)
    made = site.tlsprov("ca", "init", "--ca-dir", str(site.issued.ca_dir), "--key-type", "ec256")
    assert made.returncode == 0, S.describe(made)
    ca_crt = site.issued.ca_dir / "ca.crt"
    (old_fp,) = _fps(ca_crt)
    first = site.serve_new_leaf()
    client_a = _client(sandbox, site, "--ca", str(first / "ca.crt"))  # never gets the new CA
    assert _push(skopeo, site, client_a, "e2e/roll-a0").returncode == 0

    # Out of order: nothing to switch or retire yet, and nothing changes.
    before = S.snapshot(site.issued.ca_dir)
    for flag in ("--switch", "--retire"):
        refused = site.tlsprov("ca", "rotate", "--ca-dir", str(site.issued.ca_dir), flag)
        assert refused.returncode == 2, S.describe(refused)
        assert "phase 'none'" in refused.stderr
    dry = site.tlsprov("ca", "rotate", "--ca-dir", str(site.issued.ca_dir), "--dry-run")
    assert dry.returncode == 0 and "dry run" in dry.stdout, S.describe(dry)
    assert S.snapshot(site.issued.ca_dir) == before

    # Phase distribute: a new CA beside the old one; leaves still from the old CA.
    info = site.rotate("--key-type", "ec256")
    assert info["phase"] == "distribute" and info["old_sha256"] == old_fp
    new_fp = info["new_sha256"]
    assert _fps(ca_crt) == [old_fp, new_fp]
    assert (site.issued.ca_dir / "next.key").stat().st_mode & 0o777 == 0o600
    second = site.serve_new_leaf()
    assert _fps(second / "ca.crt") == [old_fp, new_fp]
    assert _issuer_fp(second / "harbor.test.crt", second / "ca.crt") == old_fp
    assert _fps(site.box.path("/data/ca_download/ca.crt")) == [old_fp, new_fp]
    assert _fps(site.box.certs_d(site.port) / "ca.crt") == [old_fp, new_fp]
    # B trusts both, fetched from Harbor and pinned by both fingerprints.
    client_b = _client(
        sandbox, site, "--from-harbor", "--fingerprint", old_fp, "--fingerprint", new_fp.lower(),
        "--connect", f"127.0.0.1:{site.port}",
    )  # fmt: skip
    podman_b = client_b.path(f"/etc/containers/certs.d/{S.HOST}:{site.port}/ca.crt")
    assert _fps(podman_b) == [old_fp, new_fp]
    one_pin = client_b.tlsprov(
        "trust", f"{S.HOST}:{site.port}", "--from-harbor", "--fingerprint", old_fp, "--connect",
        f"127.0.0.1:{site.port}", "--targets", "podman", "--root", str(client_b.root),
    )  # fmt: skip
    assert one_pin.returncode == 2 and new_fp in one_pin.stderr, S.describe(one_pin)
    assert _push(skopeo, site, client_b, "e2e/roll-b1").returncode == 0

    status = site.tlsprov(
        "ca", "rotate", "--ca-dir", str(site.issued.ca_dir), "--retire"
    )  # retire before the switch is refused too
    assert status.returncode == 2 and "phase 'distribute'" in status.stderr

    # Phase switched: the new CA signs; ca.crt still holds both.
    info = site.rotate("--switch")
    assert info["phase"] == "switched"
    assert _fps(ca_crt) == [new_fp, old_fp]
    assert not (site.issued.ca_dir / "next.key").exists()
    third = site.serve_new_leaf()
    assert _issuer_fp(third / "harbor.test.crt", third / "ca.crt") == new_fp
    assert _fps(third / "ca.crt") == [new_fp, old_fp]

    assert _push(skopeo, site, client_b, "e2e/roll-b2").returncode == 0, "B trusted both"
    new_only = tmp_path / "new-only.crt"
    new_only.write_bytes(split_pem(ca_crt.read_bytes())[0])
    client_c = _client(sandbox, site, "--ca", str(new_only), "--fingerprint", new_fp)
    assert _push(skopeo, site, client_c, "e2e/roll-c2").returncode == 0
    stale = _push(skopeo, site, client_a, "e2e/roll-a2")
    assert stale.returncode != 0
    assert "x509: certificate signed by unknown authority" in stale.stderr, stale.stderr
    assert S.registry_tags(registry, "e2e/roll-a2") == []

    # Phase retired: the new CA alone; the old key kept aside, unchanged.
    old_key = (site.issued.ca_dir / "previous.key").read_bytes()
    info = site.rotate("--retire")
    assert info["phase"] == "retired"
    assert _fps(ca_crt) == [new_fp]
    (aside,) = (site.issued.ca_dir / "retired").iterdir()
    assert (aside / "ca.key").read_bytes() == old_key
    assert (aside / "ca.key").stat().st_mode & 0o777 == 0o600
    assert _fps(aside / "ca.crt") == [old_fp]
    assert not (site.issued.ca_dir / "previous.key").exists()
    fourth = site.serve_new_leaf()
    assert _fps(fourth / "ca.crt") == [new_fp]
    assert _fps(site.box.path("/data/ca_download/ca.crt")) == [new_fp]
    assert _push(skopeo, site, client_c, "e2e/roll-c3").returncode == 0
    assert len(list((site.issued.ca_dir / "backups").iterdir())) == 3


def test_provision_follows_the_rollover_and_status_shows_the_phase(
    sandbox: Any, tmp_path: Path
) -> None:
    box = sandbox("debian")
    ca_dir = box.root / "etc" / "tlsprov" / "ca"  # inside the install root: used as it is
    config = box.base / "tlsprov.toml"
    config.write_text(
        f'[harbor]\nhostname = "harbor.test"\nhttps_port = 8443\ninstall_dir = "/opt/harbor"\n'
        f'[provider]\nname = "selfsigned"\n[provider.selfsigned]\nca_dir = "{ca_dir}"\n'
        f'key_type = "ec256"\n[install]\nroot = "{box.root}"\ntargets = ["harbor", "docker"]\n',
        encoding="utf-8",
    )

    def provision() -> dict[str, Any]:
        result = box.tlsprov("provision", "--config", str(config), "--no-verify", "--json")
        assert result.returncode == 0, S.describe(result)
        doc: dict[str, Any] = json.loads(result.stdout)
        return doc

    def phase() -> tuple[str, list[str]]:
        result = box.tlsprov("status", "--config", str(config), "--json")
        assert result.returncode == 0, S.describe(result)
        roll = json.loads(result.stdout)["ca_rollover"]
        return roll["phase"], roll["trusted_sha256"]

    assert provision()["issued"] is True
    assert provision()["issued"] is False  # nothing rolled over: reused
    (old_fp,) = _fps(ca_dir / "ca.crt")
    assert phase() == ("none", [old_fp])
    rotate = ["ca", "rotate", "--ca-dir", str(ca_dir), "--key-type", "ec256"]
    assert box.tlsprov(*rotate).returncode == 0
    state, trusted = phase()
    assert state == "distribute" and trusted[0] == old_fp and len(trusted) == 2
    human = box.tlsprov("status", "--config", str(config))
    assert "CA rollover: phase distribute" in human.stdout, S.describe(human)
    assert "does not match yet: run 'tlsprov provision'" in human.stdout
    renewed = box.tlsprov("renew", "--config", str(config), "--no-verify", "--json")
    assert renewed.returncode == 0, S.describe(renewed)
    doc = json.loads(renewed.stdout)  # renew notices the rollover before the window
    assert doc["renewed"] is True and "rollover" in doc["reason"], doc
    after = box.tlsprov("status", "--config", str(config), "--json")
    assert json.loads(after.stdout)["ca_rollover"]["installed_current"] is True
    published = box.path("/data/ca_download/ca.crt")
    assert _fps(published) == trusted
    leaf = box.path("/data/cert/harbor.test.crt")
    assert _issuer_fp(leaf, published) == old_fp
    assert box.tlsprov(*rotate[:4], "--switch").returncode == 0
    doc = provision()
    assert doc["issued"] is True and "switched" in doc["reason"]
    assert _issuer_fp(leaf, published) == trusted[1]
    assert provision()["issued"] is False
    assert box.tlsprov(*rotate[:4], "--retire").returncode == 0
    assert phase() == ("retired", [trusted[1]])
    assert provision()["issued"] is True
    assert _fps(published) == [trusted[1]]
