"""``tlsprov inspect``: names, validity, key, fingerprints, extensions and lint of each cert."""

from __future__ import annotations

import datetime as dt
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization


def test_inspect_leaf_json(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    res = cli(
        "issue", "harbor.test", "--alt-name", "127.0.0.1", "--ca-dir", ca_dir,
        "--out", tmp_path / "o", "--key-type", "ec256",
    )  # fmt: skip
    assert res.code == 0, res.err
    crt = tmp_path / "o" / "harbor.test.crt"
    shown = cli("inspect", crt, "--json")
    assert shown.code == 0, shown.err
    doc = json.loads(shown.out)
    assert doc["ok"] is True
    (desc,) = doc["certificates"]
    cert = x509.load_pem_x509_certificate(crt.read_bytes())
    assert desc["subject"] == "CN=harbor.test"
    assert desc["issuer"] == cert.issuer.rfc4514_string()
    assert desc["serial"] == f"{cert.serial_number:X}"
    assert desc["dns_names"] == ["harbor.test"]
    assert desc["ip_addresses"] == ["127.0.0.1"]
    assert desc["not_after"] == cert.not_valid_after_utc.isoformat()
    assert desc["not_before"] == cert.not_valid_before_utc.isoformat()
    assert 3640 <= desc["days_left"] <= 3650
    assert (desc["key_type"], desc["key_size"]) == ("EC P-256", 256)
    assert desc["signature_algorithm"] == "ecdsa-with-SHA256"
    assert desc["sha256"] == cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert desc["sha1"] == cert.fingerprint(hashes.SHA1()).hex(":").upper()
    exts = {e["name"]: e for e in desc["extensions"]}
    assert exts["basicConstraints"]["value"] == "CA:FALSE"
    assert exts["extendedKeyUsage"]["value"] == "serverAuth"
    assert exts["subjectAltName"]["value"] == "DNS:harbor.test, IP:127.0.0.1"
    assert exts["keyUsage"]["value"].startswith("digitalSignature")
    assert {e["critical"] for e in desc["extensions"]} == {e.critical for e in cert.extensions}
    assert len(desc["extensions"]) == len(cert.extensions)
    assert desc["lint"] == []


def test_inspect_chain_human_and_der(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    cli("issue", "harbor.test", "--ca-dir", ca_dir, "--out", tmp_path / "o", "--key-type", "ec256")
    chain = tmp_path / "chain.pem"
    chain.write_bytes(
        (tmp_path / "o" / "harbor.test.crt").read_bytes() + (ca_dir / "ca.crt").read_bytes()
    )
    res = cli("inspect", chain)
    assert res.code == 0, res.err
    assert "certificate 1 of 2:" in res.out
    assert "certificate 2 of 2:" in res.out
    assert "basicConstraints (critical): CA:TRUE" in res.out
    assert "names (SAN):   DNS:harbor.test" in res.out
    ca = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    der = tmp_path / "ca.der"
    der.write_bytes(ca.public_bytes(serialization.Encoding.DER))
    shown = cli("inspect", der, "--json")
    assert shown.code == 0, shown.err
    (desc,) = json.loads(shown.out)["certificates"]
    assert desc["self_signed"] is True
    assert desc["sha256"] == ca.fingerprint(hashes.SHA256()).hex(":").upper()


def test_inspect_reports_lint(cli, certs, tmp_path):
    now = dt.datetime.now(dt.UTC)
    cn_only = certs.build(cn="harbor.test", not_after=now + dt.timedelta(days=5))
    path = tmp_path / "cn-only.pem"
    path.write_bytes(cn_only.public_bytes(serialization.Encoding.PEM))
    res = cli("inspect", path, "--json")
    assert res.code == 0, res.err
    codes = {f["code"]: f["level"] for f in json.loads(res.out)["certificates"][0]["lint"]}
    assert codes == {"cn-only": "error", "expiring-soon": "warning"}
    human = cli("inspect", path)
    assert "lint error:" in human.out
    assert "[cn-only]" in human.out


def test_inspect_host_option(cli, make_ca, tmp_path):
    ca_dir = make_ca()
    cli("issue", "harbor.test", "--ca-dir", ca_dir, "--out", tmp_path / "o", "--key-type", "ec256")
    crt = tmp_path / "o" / "harbor.test.crt"
    ok = cli("inspect", crt, "--host", "harbor.test", "--json")
    assert json.loads(ok.out)["certificates"][0]["lint"] == []
    wrong = cli("inspect", crt, "--host", "127.0.0.1", "--json")
    codes = [f["code"] for f in json.loads(wrong.out)["certificates"][0]["lint"]]
    assert codes == ["ip-without-ip-san"]
