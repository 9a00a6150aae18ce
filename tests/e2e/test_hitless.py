"""Renewal without downtime, proven under load against real nginx served the way Harbor's
proxy container serves it (a directory bind mount of ``<data_volume>/secret/cert``).

During ``tlsprov renew --force`` 20 client threads open fresh TLS connections to ``/v2/``
trusting only the CA. The hitless path (files renamed in place, ``nginx -s reload`` in the
container) drops none; Harbor's procedure (prepare, ``down -v``, ``up -d``) drops requests.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e


def _load_hitless() -> Any:
    name = "tlsprov_e2e_hitless"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("_hitless.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = _load_hitless()


def _config(box: Any, port: int, ca_dir: Path, reload: str = "auto") -> Path:
    path = box.base / "tlsprov.toml"
    path.write_text(
        f"""
[harbor]
hostname = "harbor.test"
https_port = {port}
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"
reload = "{reload}"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{ca_dir}"
key_type = "ec256"

[install]
root = "{box.root}"
targets = ["harbor", "docker"]
connect = "127.0.0.1:{port}"
verify_timeout = 20
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def harbor(sandbox: Any, registry: int, tmp_path: Path) -> Iterator[Any]:
    """A provisioned sandbox Harbor whose proxy (real nginx) serves secret/cert."""
    box = sandbox("debian")
    port = S.free_port()
    ca_dir = box.root / "etc" / "tlsprov" / "ca"  # inside the install root: used as it is
    config = _config(box, port, ca_dir)
    first = box.tlsprov("provision", "--config", str(config), "--no-verify", "--json")
    assert first.returncode == 0, S.describe(first)
    proxy_dir = tmp_path / "proxy"
    proxy_dir.mkdir()
    tls = proxy_dir / "tls.conf"
    proxy = H.ProxyContainer(
        proxy_dir,
        source=box.root / "data" / "secret" / "cert",
        port=port,
        conf_text=S.nginx_conf(proxy_dir, port, registry, tls, None),
    )
    proxy.tls_include()
    proxy.start(box.env, box.harbor)
    box.proxy, box.port, box.config, box.ca_dir = proxy, port, config, ca_dir
    try:
        yield box
    finally:
        proxy.stop()


def _serial(path: Path) -> int:
    from cryptography import x509

    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def _renew_under_load(box: Any, *extra: str, **env: str) -> tuple[Any, Any, float, int]:
    """``renew --force`` while 20 clients connect; (result, load, returned-at, old serial)."""
    ca = box.certs_d(box.port) / "ca.crt"
    old = _serial(box.root / "data" / "cert" / "harbor.test.crt")
    load = H.Load(port=box.port, host=S.HOST, ca_file=ca, clients=20)
    load.start()
    try:
        time.sleep(0.5)
        calls = len(box.records())
        result = box.tlsprov("renew", "--config", str(box.config), "--force", "--json", *extra,
                             **box.proxy.env, **env)  # fmt: skip
        returned = time.monotonic()
        time.sleep(1.5)
    finally:
        load.stop()
    box.calls = box.records()[calls:]
    print(f"requests {len(load.outcomes)}, failed {len(load.failed())}, "
          f"longest gap {load.longest_gap():.3f} s")  # fmt: skip
    return result, load, returned, old


def test_hitless_renewal_drops_no_request(harbor: Any) -> None:
    box = harbor
    result, load, returned, old = _renew_under_load(box)
    assert result.returncode == 0, S.describe(result) + box.proxy.error_log()
    doc = json.loads(result.stdout)
    assert doc["renewed"] is True and doc["verified"] is True
    assert any("not prepared again" in n for n in doc["notes"]), doc["notes"]
    # Never prepare, never down: check the container's view, then reload nginx in it.
    assert box.calls == [
        ["docker", "compose", "exec", "-T", "proxy", "sha256sum", "/etc/cert/server.crt"],
        ["docker", "compose", "exec", "-T", "proxy", "nginx", "-s", "reload"],
    ], box.calls
    assert len(load.outcomes) > 200, len(load.outcomes)
    assert load.failed() == [], load.failed()[:5]
    new = _serial(box.root / "data" / "cert" / "harbor.test.crt")
    assert {o.serial for o in load.outcomes} == {old, new}
    late = [o for o in load.outcomes if o.start > returned + 1.0]
    assert late and all(o.serial == new for o in late), "old serial served 1 s after renew"
    first_new = min(o.end for o in load.outcomes if o.serial == new)
    assert first_new <= returned + 1.0
    secret = box.root / "data" / "secret" / "cert"
    for name in ("server.crt", "server.key"):
        st = (secret / name).stat()
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o600, 10000, 10000), name
    served = (secret / "server.crt").read_bytes()
    assert served == (box.root / "data" / "cert" / "harbor.test.crt").read_bytes()


def test_prepare_path_drops_requests(harbor: Any) -> None:
    box = harbor
    box.config.write_text(box.config.read_text().replace('reload = "auto"', 'reload = "prepare"'))
    result, load, _returned, _old = _renew_under_load(box)
    assert result.returncode == 0, S.describe(result) + box.proxy.error_log()
    doc = json.loads(result.stdout)
    assert any('reload = "prepare"' in n for n in doc["notes"]), doc["notes"]
    assert box.calls == [
        ["prepare"],
        ["docker", "compose", "down", "-v"],
        ["docker", "compose", "up", "-d"],
    ], box.calls
    assert len(load.failed()) > 0, "Harbor's procedure restarts the proxy: requests must fail"
    assert load.longest_gap() > 0.01


def test_stale_proxy_mount_restarts_only_the_proxy(harbor: Any) -> None:
    box = harbor
    # prepare ran again after the proxy started: it deleted and recreated secret/cert, so the
    # running container holds the deleted folder (as after a manual ./prepare without down/up).
    prepared = subprocess.run([str(box.harbor / "prepare")], cwd=box.harbor, env=box.env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
    assert prepared.returncode == 0, prepared.stdout
    calls = len(box.records())
    result = box.tlsprov("renew", "--config", str(box.config), "--force", "--json",
                         **box.proxy.env)  # fmt: skip
    assert result.returncode == 0, S.describe(result) + box.proxy.error_log()
    assert box.records()[calls:] == [
        ["docker", "compose", "exec", "-T", "proxy", "sha256sum", "/etc/cert/server.crt"],
        ["docker", "compose", "restart", "proxy"],
        ["docker", "compose", "exec", "-T", "proxy", "nginx", "-s", "reload"],
    ]
    doc = json.loads(result.stdout)
    assert doc["verified"] is True
    why = [n for n in doc["notes"] if "restart proxy" in n]
    assert why and "deleted folder" in why[0] and "does not show" in why[0], doc["notes"]


def test_failed_reload_restores_the_files_in_place(harbor: Any) -> None:
    box = harbor
    secret = box.root / "data" / "secret" / "cert"
    before = {n: (secret / n).read_bytes() for n in ("server.crt", "server.key")}
    folder_inode = secret.stat().st_ino
    (box.proxy.folder / "nginx.pid").unlink()  # the signaller cannot find the master: exit 1
    result = box.tlsprov("renew", "--config", str(box.config), "--force", **box.proxy.env)
    assert result.returncode == 1, S.describe(result)
    assert "nginx -s reload" in result.stderr and "rolled back" in result.stderr, result.stderr
    assert {n: (secret / n).read_bytes() for n in before} == before
    assert secret.stat().st_ino == folder_inode  # restored in place, never recreated
    assert (secret / "server.key").stat().st_uid == 10000


def test_dry_run_shows_every_step_of_the_hitless_path(harbor: Any) -> None:
    box = harbor
    box.config.write_text(box.config.read_text() + "[renew]\nbefore = 9999\n")  # due now
    before = box.snapshot()
    dry = box.tlsprov("provision", "--config", str(box.config), "--dry-run")
    assert dry.returncode == 0, S.describe(dry)
    out = dry.stdout
    assert "a new certificate would be issued" in out, out
    for line in (
        "/data/secret/cert/server.key  mode 0600  owner 10000:10000",
        "/data/secret/cert/server.crt  mode 0600  owner 10000:10000",
        "docker compose exec -T proxy sha256sum /etc/cert/server.crt (or docker exec nginx "
        "sha256sum /etc/cert/server.crt when that is unavailable) [check: must show the "
        "sha256 of /data/secret/cert/server.crt]",
        "only if that check fails: docker compose restart proxy",
        "docker compose exec -T proxy nginx -s reload (or docker exec nginx nginx -s reload",
    ):
        assert line in out, out
    assert "./prepare" not in out and "down -v" not in out
    assert box.snapshot() == before


def _served_serial(box: Any, wanted: int, timeout: float = 2.0) -> int:
    """The serial on a fresh connection, polled until it is ``wanted`` (nginx's old workers
    may still accept for some milliseconds after ``nginx -s reload`` returns)."""
    import ssl

    load = H.Load(port=box.port, host=S.HOST, ca_file=box.certs_d(box.port) / "ca.crt")
    ctx = ssl.create_default_context(cafile=str(load.ca_file))
    deadline = time.monotonic() + timeout
    while True:
        outcome = load._one(ctx)
        assert outcome.serial is not None, outcome.error
        if outcome.serial == wanted or time.monotonic() > deadline:
            return int(outcome.serial)
        time.sleep(0.05)


def test_install_of_a_new_bundle_and_its_rollback_are_hitless(harbor: Any, tmp_path: Path) -> None:
    box = harbor
    old = _serial(box.root / "data" / "cert" / "harbor.test.crt")
    assert _served_serial(box, old) == old
    bundle = tmp_path / "next"
    issued = S.run_tlsprov(
        ["issue", S.HOST, "--ca-dir", str(box.ca_dir), "--out", str(bundle), "--key-type",
         "ec256", "--alt-name", "127.0.0.1"],
        S.clean_env(HOME=str(tmp_path)),
    )  # fmt: skip
    assert issued.returncode == 0, S.describe(issued)
    calls = len(box.records())
    result = box.install(bundle, box.port, "--alt-name", "127.0.0.1", "--targets", "harbor",
                         **box.proxy.env)  # fmt: skip
    assert result.returncode == 0, S.describe(result)
    assert [c[:4] for c in box.records()[calls:]] == [["docker", "compose", "exec", "-T"]] * 2
    new = _serial(bundle / "harbor.test.crt")
    assert _served_serial(box, new) == new
    # Undo: both files go back into the same folder and nginx reloads again (no prepare).
    calls = len(box.records())
    undo = box.tlsprov("rollback", "--root", str(box.root), **box.proxy.env)
    assert undo.returncode == 0, S.describe(undo)
    assert [c[:4] for c in box.records()[calls:]] == [["docker", "compose", "exec", "-T"]] * 2
    assert _served_serial(box, old) == old
