"""Harbor's internal TLS on a sandbox Harbor: the set, its certificates, renewal and rollback.

The external certificate is installed first (Harbor's prepare needs a working https block);
then ``tlsprov internal-tls issue`` makes the set, enables ``internal_tls`` in harbor.yml and
runs the recording prepare and compose; ``renew`` renews the leaves from the same CA and
restarts only the services that read them.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ruamel.yaml import YAML

pytestmark = pytest.mark.e2e

TLS_DIR = "etc/harbor/tls/internal"
BASE = ["proxy", "portal", "core", "job_service", "registry", "registryctl"]
SERVICE = {"job_service": "jobservice", "trivy_adapter": "trivy-adapter"}
RESTARTED = ["registry", "registryctl", "core", "portal", "jobservice", "proxy"]


def _config(box: Any, extra: str = "") -> Path:
    path = box.base / "tlsprov.toml"
    path.write_text(
        f"""
[harbor]
hostname = "harbor.test"
install_dir = "/opt/harbor"

[harbor.internal_tls]
enabled = true
key_type = "ec256"
{extra}

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{box.base / "ca"}"

[install]
root = "{box.root}"
""",
        encoding="utf-8",
    )
    return path


def _https_box(sandbox: Any, issued: Any, **kw: Any) -> Any:
    box = sandbox(**kw)
    result = box.install(issued.server, 443, "--targets", "harbor")
    assert result.returncode == 0, S.describe(result)
    box.record_file.write_text("", encoding="utf-8")
    return box


def _run(box: Any, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return box.tlsprov("internal-tls", *args, "--config", str(_config_path(box)), **env)


def _config_path(box: Any) -> Path:
    return Path(box.base / "tlsprov.toml")


def _ok(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, S.describe(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _set(box: Any) -> dict[str, bytes]:
    folder = box.root / TLS_DIR
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _cert(data: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(data)


@pytest.fixture
def box(sandbox: Any, issued: Any) -> Any:
    box = _https_box(sandbox, issued)
    _config(box)
    return box


def test_issue_writes_the_set_harbor_expects_and_runs_prepare(box: Any) -> None:
    doc = _ok(_run(box, "issue", "--json"))
    assert doc["issued"] is True
    files = _set(box)
    expected = {
        f"{n}.{e}" for n in [*BASE, "harbor_db", "harbor_internal_ca"] for e in ("crt", "key")
    }
    assert set(files) == expected
    folder = box.root / TLS_DIR
    for name in expected:
        path = folder / name
        assert path.is_file() and not path.is_symlink()
        assert path.stat().st_mode & 0o777 == (0o600 if name.endswith(".key") else 0o644), name
    ca = _cert(files["harbor_internal_ca.crt"])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    external_ca = _cert(box.path("/data/cert/harbor.test.crt").read_bytes())
    assert ca.subject != external_ca.issuer  # its own CA, not the external one
    for stem in [*BASE, "harbor_db"]:
        leaf = _cert(files[f"{stem}.crt"])
        service = SERVICE.get(stem, stem)
        cns = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        assert cns == [service]
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.DNSName) == [service]
        eku = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        assert ExtendedKeyUsageOID.SERVER_AUTH in eku and ExtendedKeyUsageOID.CLIENT_AUTH in eku
        leaf.verify_directly_issued_by(ca)
    yml = YAML(typ="safe").load(box.path("/opt/harbor/harbor.yml").read_text(encoding="utf-8"))
    assert yml["internal_tls"] == {"enabled": True, "dir": "/etc/harbor/tls/internal"}
    assert yml["https"]["certificate"] == "/data/cert/harbor.test.crt"  # untouched
    assert box.records() == [
        ["prepare"],
        ["docker", "compose", "down", "-v"],
        ["docker", "compose", "up", "-d"],
    ]
    again = _ok(_run(box, "issue", "--json"))  # idempotent: the valid set is kept
    assert again["issued"] is False and again["changed"] is False
    assert _set(box) == files


def test_every_leaf_passes_openssl_as_server_and_client(box: Any) -> None:
    _ok(_run(box, "issue", "--json"))
    folder = box.root / TLS_DIR
    ca = folder / "harbor_internal_ca.crt"
    for stem in [*BASE, "harbor_db"]:
        for purpose in ("sslserver", "sslclient"):
            result = subprocess.run(
                ["openssl", "verify", "-x509_strict", "-purpose", purpose, "-verify_hostname",
                 SERVICE.get(stem, stem), "-CAfile", str(ca), str(folder / f"{stem}.crt")],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            assert result.returncode == 0, (stem, purpose, result.stdout, result.stderr)
    wrong = subprocess.run(
        ["openssl", "verify", "-verify_hostname", "core", "-CAfile", str(ca),
         str(folder / "portal.crt")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert wrong.returncode != 0  # negative control: portal's certificate is not core's


def _mutual_handshake(folder: Path, server: str, client: str, *, with_cert: bool) -> str:
    """core-style server requiring a client certificate; the client trusts only the CA."""
    ca = str(folder / "harbor_internal_ca.crt")
    srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    srv.load_cert_chain(folder / f"{server}.crt", folder / f"{server}.key")
    srv.load_verify_locations(ca)
    srv.verify_mode = ssl.CERT_REQUIRED
    cli = ssl.create_default_context(cafile=ca)
    if with_cert:
        cli.load_cert_chain(folder / f"{client}.crt", folder / f"{client}.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    seen: dict[str, Any] = {}

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with srv.wrap_socket(conn, server_side=True) as tls:
                peer = tls.getpeercert()
                seen["peer"] = dict(x[0] for x in peer["subject"])["commonName"] if peer else None
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            seen["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            cli.wrap_socket(raw, server_hostname=SERVICE.get(server, server)) as tls,
        ):
            assert tls.recv(2) == b"ok"
    except (ssl.SSLError, OSError):
        pass
    thread.join(10)
    listener.close()
    return str(seen.get("peer") or f"refused: {seen.get('error')}")


def test_two_components_talk_mutual_tls_trusting_only_the_internal_ca(box: Any) -> None:
    _ok(_run(box, "issue", "--json"))
    folder = box.root / TLS_DIR
    assert _mutual_handshake(folder, "core", "proxy", with_cert=True) == "proxy"
    assert _mutual_handshake(folder, "registry", "core", with_cert=True) == "core"
    refused = _mutual_handshake(folder, "core", "proxy", with_cert=False)
    assert refused.startswith("refused")  # negative control: no client certificate


def test_trivy_and_external_database_change_the_set(sandbox: Any, issued: Any) -> None:
    box = _https_box(sandbox, issued, trivy=True)
    yml = box.path("/opt/harbor/harbor.yml")
    yml.write_text(
        yml.read_text(encoding="utf-8")
        + "\nexternal_database:\n  harbor:\n    host: db.example\n    port: 5432\n",
        encoding="utf-8",
    )
    _config(box)
    _ok(_run(box, "issue", "--json"))
    stems = {name.rsplit(".", 1)[0] for name in _set(box)}
    assert stems == {*BASE, "trivy_adapter", "harbor_internal_ca"}
    leaf = _cert(_set(box)["trivy_adapter.crt"])
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["trivy-adapter"]
    assert box.records()[0] == ["prepare", "--with-trivy"]


def test_renew_changes_every_leaf_keeps_the_ca_and_restarts_only_its_services(box: Any) -> None:
    _ok(_run(box, "issue", "--json"))
    before = _set(box)
    box.record_file.write_text("", encoding="utf-8")
    not_due = _ok(_run(box, "renew", "--json"))
    assert not_due["issued"] is False and box.records() == []
    doc = _ok(_run(box, "renew", "--force", "--json"))
    assert doc["issued"] is True
    after = _set(box)
    assert after["harbor_internal_ca.crt"] == before["harbor_internal_ca.crt"]
    for stem in [*BASE, "harbor_db"]:
        assert (
            _cert(after[f"{stem}.crt"]).serial_number != _cert(before[f"{stem}.crt"]).serial_number
        )
    assert box.records() == [["docker", "compose", "restart", *RESTARTED]]
    secret = box.path("/data/secret/tls")
    for name, content in after.items():
        path = secret / name
        assert path.read_bytes() == content
        st = path.stat()
        assert st.st_mode & 0o777 == (0o600 if name.endswith(".key") else 0o644)
        assert (st.st_uid, st.st_gid) == (
            (999, 999) if name.startswith("harbor_db.") else (10000, 10000)
        )
    # the CA did not change: the trust bundle of the components is not rewritten
    assert not box.path("/opt/harbor/common/config/shared/trust-certificates").exists()


def test_tlsprov_renew_renews_due_internal_leaves_with_the_same_window_rule(box: Any) -> None:
    _config(box, "")
    text = _config_path(box).read_text(encoding="utf-8") + "\n[renew]\nbefore = 400\n"
    _config_path(box).write_text(text, encoding="utf-8")  # 365-day leaves are due, 10 years not
    _ok(box.tlsprov("provision", "--no-verify", "--config", str(_config_path(box)), "--json"))
    _ok(_run(box, "issue", "--json"))
    before = _set(box)
    box.record_file.write_text("", encoding="utf-8")
    doc = _ok(box.tlsprov("renew", "--no-verify", "--config", str(_config_path(box)), "--json"))
    assert doc["renewed"] is False  # the external certificate is not due
    assert doc["internal_tls"]["issued"] is True
    assert "renewal window" in doc["internal_tls"]["reason"]
    assert _set(box)["core.crt"] != before["core.crt"]
    assert box.records() == [["docker", "compose", "restart", *RESTARTED]]


def test_failed_restart_rolls_back_and_rollback_restores_the_previous_set(box: Any) -> None:
    _ok(_run(box, "issue", "--json"))
    issued_set = _set(box)
    before = box.snapshot(state=False)
    failed = _run(box, "renew", "--force", TLSPROV_TEST_FAIL_DOCKER="1",
                  TLSPROV_TEST_FAIL_DOCKER_COMPOSE="3")  # fmt: skip
    assert failed.returncode == 1, S.describe(failed)
    assert "rolled back" in failed.stderr and "Traceback" not in failed.stderr
    assert S.snapshot_diff(before, box.snapshot(state=False)) == ""
    _ok(_run(box, "renew", "--force", "--json"))
    assert _set(box) != issued_set
    box.record_file.write_text("", encoding="utf-8")
    back = box.tlsprov("rollback", "--root", str(box.root))
    assert back.returncode == 0, S.describe(back)
    assert _set(box) == issued_set  # byte for byte
    assert box.records() == [["docker", "compose", "restart", *RESTARTED]]


def test_a_broken_existing_set_is_reported_before_anything_runs(box: Any) -> None:
    _ok(_run(box, "issue", "--json"))
    folder = box.root / TLS_DIR
    (folder / "core.key").write_bytes((folder / "portal.key").read_bytes())
    (folder / "registry.crt").unlink()
    box.record_file.write_text("", encoding="utf-8")
    before = box.snapshot()
    for action in ("renew", "issue"):
        result = _run(box, action)
        assert result.returncode == 2, S.describe(result)
        line = result.stderr.strip().splitlines()[-1]
        assert "core.key does not match core.crt" in line and "registry.crt" in line, line
        assert "--force" in line
    assert box.records() == []
    assert S.snapshot_diff(before, box.snapshot()) == ""


def test_data_volume_other_than_data_is_refused(sandbox: Any, issued: Any) -> None:
    box = _https_box(sandbox, issued)
    _config(box)
    yml = box.path("/opt/harbor/harbor.yml")
    yml.write_text(
        yml.read_text(encoding="utf-8").replace("data_volume: /data", "data_volume: /srv/hdata"),
        encoding="utf-8",
    )
    before = box.snapshot()
    result = _run(box, "issue")
    assert result.returncode == 2, S.describe(result)
    assert "data_volume to be /data" in result.stderr and "Traceback" not in result.stderr
    assert S.snapshot_diff(before, box.snapshot()) == ""


def test_dry_run_changes_nothing_and_status_reports_days_left(box: Any) -> None:
    before = box.snapshot()
    dry = _ok(_run(box, "issue", "--dry-run", "--json"))
    assert dry["operation"] == "dry-run" and dry["plan"]
    assert S.snapshot_diff(before, box.snapshot()) == ""
    missing = _run(box, "status", "--json")
    assert missing.returncode == 1 and json.loads(missing.stdout)["problems"]
    _ok(_run(box, "issue", "--json"))
    doc = _ok(_run(box, "status", "--json"))
    assert doc["problems"] == []
    assert [e["file"] for e in doc["leaves"]] == [*BASE, "harbor_db"]
    assert all(360 < e["days_left"] <= 365 for e in doc["leaves"])
    assert 3640 < doc["ca"]["days_left"] <= 3650
    overall = _ok(box.tlsprov("status", "--config", str(_config_path(box)), "--json"))
    assert overall["internal_tls"]["leaves"] == doc["leaves"]  # beside the external certificate


def test_config_refuses_a_ca_that_does_not_outlive_its_leaves(box: Any) -> None:
    _config(box, "days = 400\nca_days = 300")
    result = _run(box, "issue")
    assert result.returncode == 2, S.describe(result)
    assert "harbor.internal_tls.ca_days" in result.stderr and "outlive" in result.stderr
