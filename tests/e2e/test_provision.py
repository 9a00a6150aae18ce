"""Config-driven provisioning end to end: provision, renew (forced, by window, with hooks),
status, dry-run, rollback, and a failed renewal falling back to the previous lineage.

nginx serves what the test ``prepare`` rendered; the recording ``docker compose up`` reloads it
(SIGHUP), as Harbor's proxy container comes back with the new files.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e


def _config(box: Any, port: int, ca_dir: Path, **sections: str) -> Path:
    hooks = sections.get("renew", "")
    text = f"""
[harbor]
hostname = "harbor.test"
https_port = {port}
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{ca_dir}"
key_type = "ec256"
{sections.get("provider_extra", "")}

[install]
root = "{box.root}"
targets = ["harbor", "docker", "os-trust"]
connect = "127.0.0.1:{port}"
verify_timeout = {sections.get("verify_timeout", "15")}

[renew]
{hooks}
"""
    path = box.base / "tlsprov.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _json(result: Any) -> dict[str, Any]:
    assert result.returncode == 0, S.describe(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _served_fingerprint(port: int, ca: Path) -> str:
    import socket

    from cryptography import x509

    from tlsprov.pki.x509 import fingerprint

    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="harbor.test") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return fingerprint(x509.load_der_x509_certificate(der))


def _start_proxy(box: Any, nginx: Any, port: int) -> Path:
    server = nginx(box.harbor / "common/config/nginx/nginx.conf", port=port)
    pidfile = box.base / "nginx.pid"
    pidfile.write_text(str(server.proc.pid), encoding="utf-8")
    return pidfile


def test_provision_renew_status_with_hooks(sandbox: Any, nginx: Any, tmp_path: Path) -> None:
    box = sandbox("debian")
    port = S.free_port()
    env_log = tmp_path / "hook-env.log"
    order_log = tmp_path / "hook-order.log"
    config = _config(
        box,
        port,
        tmp_path / "ca",
        renew=f"""pre_hook = "echo pre >> {order_log}"
deploy_hook = "echo deploy >> {order_log}; env | grep ^TLSPROV_ | sort > {env_log}"
post_hook = "echo post >> {order_log}"
""",
    )
    # First provision: nothing is listening yet, so skip only the live check.
    first = _json(box.tlsprov("provision", "--config", str(config), "--no-verify", "--json"))
    assert first["issued"] is True and first["changed"] is True
    assert "/data/cert/harbor.test.crt" in first["files"]
    assert first["certificate"]["version"] == 1
    assert box.records()[:2] == [["update-ca-certificates"], ["prepare"]]

    pidfile = _start_proxy(box, nginx, port)
    ca = box.certs_d(port) / "ca.crt"
    assert _served_fingerprint(port, ca) == first["certificate"]["fingerprint_sha256"]

    # Second provision: the certificate is reused, nothing changes, the live check passes.
    before = box.snapshot(state=False)
    second = _json(box.tlsprov("provision", "--config", str(config), "--json"))
    assert second["issued"] is False and second["changed"] is False
    assert second["verified"] is True
    assert box.snapshot(state=False) == before

    # Renew when not due: no hook, no change.
    calls = len(box.records())
    not_due = _json(box.tlsprov("renew", "--config", str(config), "--json"))
    assert not_due["renewed"] is False and "not due" in not_due["reason"]
    assert not order_log.exists()
    assert len(box.records()) == calls

    # Forced renewal: new certificate, compose up reloads nginx, the live check sees it.
    renewed = _json(
        box.tlsprov(
            "renew", "--config", str(config), "--force", "--json",
            TLSPROV_TEST_NGINX_PIDFILE=str(pidfile),
        )
    )  # fmt: skip
    assert renewed["renewed"] is True and renewed["verified"] is True
    new_fp = renewed["certificate"]["fingerprint_sha256"]
    assert new_fp != first["certificate"]["fingerprint_sha256"]
    assert _served_fingerprint(port, ca) == new_fp
    assert order_log.read_text().split() == ["pre", "deploy", "post"]
    env = dict(line.split("=", 1) for line in env_log.read_text().splitlines())
    env = {k: v for k, v in env.items() if not k.startswith("TLSPROV_TEST_")}  # the harness's
    live = box.root / "var/lib/tlsprov/live/harbor.test"
    assert env == {
        "TLSPROV_CA": str(live / "ca.crt"),
        "TLSPROV_CERT": str(live / "harbor.test.crt"),
        "TLSPROV_CHAIN": str(live / "chain.pem"),
        "TLSPROV_HOSTNAME": "harbor.test",
        "TLSPROV_KEY": str(live / "harbor.test.key"),
        "TLSPROV_RENEWED": "1",
    }
    assert (live / "harbor.test.key").stat().st_mode & 0o777 == 0o600
    assert (box.root / "var/lib/tlsprov/archive/harbor.test/1/harbor.test.crt").exists()

    status = _json(box.tlsprov("status", "--config", str(config), "--json"))
    (entry,) = status["certificates"]
    assert entry["name"] == "harbor.test" and entry["provider"] == "selfsigned"
    assert entry["names"] == ["harbor.test", "127.0.0.1"]
    assert entry["version"] == 2 and entry["last_action"] == "renew"
    assert entry["last_outcome"] == "ok" and 3640 < entry["days_left"] <= 3650
    assert entry["targets"] == ["harbor", "docker", "os-trust"]
    human = box.tlsprov("status", "--config", str(config))
    assert human.returncode == 0 and "harbor.test" in human.stdout


def test_renewal_whose_verification_fails_rolls_back_to_previous_lineage(
    sandbox: Any, nginx: Any, tmp_path: Path
) -> None:
    box = sandbox("debian")
    port = S.free_port()
    config = _config(box, port, tmp_path / "ca", verify_timeout="2")
    first = _json(box.tlsprov("provision", "--config", str(config), "--no-verify", "--json"))
    _start_proxy(box, nginx, port)
    before = box.snapshot(state=False)
    # compose up does not reload nginx this time (no pid file): the old certificate stays
    # served, so the live check must fail and everything must return to version 1.
    result = box.tlsprov("renew", "--config", str(config), "--force")
    assert result.returncode == 1, S.describe(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("tlsprov: error:")]
    assert len(errors) == 1 and "rolled back" in errors[0], result.stderr
    assert "still serves another certificate" in errors[0]
    assert box.snapshot(state=False) == before
    status = _json(box.tlsprov("status", "--config", str(config), "--json"))
    (entry,) = status["certificates"]
    assert entry["version"] == 1
    assert entry["not_after"] == first["certificate"]["not_after"]
    log = (box.root / "var/lib/tlsprov/log.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["outcome"].startswith("failed:")


def test_renew_by_window(sandbox: Any, tmp_path: Path) -> None:
    box = sandbox("debian")
    port = S.free_port()
    config = _config(box, port, tmp_path / "ca", provider_extra="days = 30", renew="before = 31")
    _json(box.tlsprov("provision", "--config", str(config), "--no-verify", "--json"))
    renewed = _json(box.tlsprov("renew", "--config", str(config), "--no-verify", "--json"))
    assert renewed["renewed"] is True
    assert "renewal window" in renewed["reason"]
    assert renewed["certificate"]["version"] == 2
    # A window of 10 days: a fresh 30-day certificate is not due.
    config.write_text(config.read_text().replace("before = 31", "before = 10"))
    quiet = _json(box.tlsprov("renew", "--config", str(config), "--json"))
    assert quiet["renewed"] is False


def test_provision_dry_run_touches_nothing_and_rollback_restores(
    sandbox: Any, tmp_path: Path
) -> None:
    box = sandbox("debian")
    port = S.free_port()
    config = _config(box, port, Path("/var/lib/tlsprov/ca"))  # in the state folder, in the root
    ca_dir = box.path("/var/lib/tlsprov/ca")
    before = box.snapshot()
    dry = box.tlsprov("provision", "--config", str(config), "--dry-run")
    assert dry.returncode == 0, S.describe(dry)
    assert "a new certificate would be issued" in dry.stdout
    assert "+hostname: harbor.test" in dry.stdout
    assert "BEGIN" not in dry.stdout + dry.stderr
    assert box.snapshot() == before
    assert not ca_dir.exists()  # not even the CA was created
    assert box.records() == []

    # Written by the test prepare, not by tlsprov: a rollback cannot (and need not) undo them.
    prepare_outputs = ("data/secret", "opt/harbor/common")
    before = box.snapshot(state=False, exclude=prepare_outputs)
    _json(box.tlsprov("provision", "--config", str(config), "--no-verify", "--json"))
    assert box.snapshot(state=False, exclude=prepare_outputs) != before
    undo = box.tlsprov("rollback", "--root", str(box.root))
    assert undo.returncode == 0, S.describe(undo)
    assert box.snapshot(state=False, exclude=prepare_outputs) == before


def test_config_errors_are_one_line(sandbox: Any, tmp_path: Path) -> None:
    box = sandbox("debian")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[harbor]\nhostname = "harbor.test"\nhttps_port = "x"\n[provider]\nname="selfsigned"\n'
    )
    result = box.tlsprov("provision", "--config", str(bad))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"tlsprov: error: {bad}: harbor.https_port: must be a port number from 1 to 65535"
    ]
    missing = box.tlsprov("provision", "--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[harbor]\nhostname = "harbor.test"\n[provider]\nname = "nope"\n')
    result = box.tlsprov("provision", "--config", str(unknown))
    assert result.returncode == 2
    assert "unknown provider 'nope'; choose one of:" in result.stderr
