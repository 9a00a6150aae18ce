"""Benchmark 6: renewing Harbor's certificate under load, hitless path against Harbor's procedure.

Each run builds a sandbox Harbor (install folder with the test suite's stand-in ``prepare`` and
recording ``docker``, ``tests/e2e/fakes``), provisions it through the prepare path, and starts
the proxy stand-in: real nginx in a private mount namespace with ``<root>/data/secret/cert``
bind-mounted as a folder, as Harbor's proxy container mounts it at ``/etc/cert``, in front of a
real ``docker-registry``. Then 20 client threads open a fresh TLS connection per request to
``/v2/`` (trusting only the CA, checking the name) while ``tlsprov renew --force`` runs:

- ``hitless``: ``[harbor] reload = "auto"``: the pair renamed into ``secret/cert``, the
  container's view checked, ``nginx -s reload`` in the container;
- ``prepare``: ``[harbor] reload = "prepare"``: ``./prepare`` (which deletes and recreates
  ``secret/cert``), ``docker compose down -v`` (nginx stops, SIGQUIT) and ``up -d`` (a new
  namespace and mount). Real Harbor also recreates every other container here, so this gap is
  a lower bound.

Variants alternate, the order rotated each round. Needs root (mount namespaces, owner 10000).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, Tools, find_tools, rotate, summarize

REPO = BENCH_DIR.parent
E2E = REPO / "tests" / "e2e"
HOST = "harbor.test"
CLIENTS = 20
VARIANTS = ("hitless", "prepare")


def _module(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    from tlsprov.testing import free_port

    return free_port()


def _config(folder: Path, root: Path, port: int, reload: str) -> Path:
    path = folder / "tlsprov.toml"
    path.write_text(
        f'[harbor]\nhostname = "{HOST}"\nhttps_port = {port}\nalt_names = ["127.0.0.1"]\n'
        f'reload = "{reload}"\n[provider]\nname = "selfsigned"\n[provider.selfsigned]\n'
        f'ca_dir = "{folder / "ca"}"\nkey_type = "ec256"\n[install]\nroot = "{root}"\n'
        f'targets = ["harbor"]\nconnect = "127.0.0.1:{port}"\nverify_timeout = 30\n',
        encoding="utf-8",
    )
    return path


def _sandbox(folder: Path) -> tuple[Path, dict[str, str]]:
    root = folder / "root"
    harbor = root / "opt" / "harbor"
    harbor.mkdir(parents=True)
    (root / "data").mkdir()
    shutil.copyfile(REPO / "tests/data/harbor/harbor.yml.tmpl", harbor / "harbor.yml")
    body = (E2E / "fakes" / "prepare").read_text(encoding="utf-8").split("\n", 1)[1]
    (harbor / "prepare").write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
    (harbor / "prepare").chmod(0o755)
    services = ("log", "registry", "core", "portal", "jobservice", "proxy")
    compose = "services:\n" + "".join(f"  {s}:\n    image: goharbor/{s}:test\n" for s in services)
    (harbor / "docker-compose.yml").write_text(compose, encoding="utf-8")
    record = folder / "record.jsonl"
    record.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLSPROV_")}
    env.update(
        PATH=f"{E2E / 'fakes'}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
        TLSPROV_TEST_RECORD=str(record),
        TLSPROV_TEST_ROOT=str(root),
        TLSPROV_TEST_FAKES=str(E2E / "fakes"),
        HOME=str(folder),
    )
    return root, env


def _tlsprov(
    tools: Tools, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*tools.tlsprov, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"tlsprov {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


def one_run(variant: str, folder: Path, registry: int, tools: Tools) -> dict[str, Any]:
    """Provision, start the proxy, renew under load; what the clients saw."""
    hitless = _module("tlsprov_e2e_hitless", E2E / "_hitless.py")
    servers = sys.modules["tlsprov_e2e_servers"]
    folder.mkdir(parents=True)
    root, env = _sandbox(folder)
    port = _free_port()
    config = _config(folder, root, port, "auto" if variant == "hitless" else "prepare")
    _tlsprov(tools, ["provision", "--config", str(config), "--no-verify"], env)
    proxy_dir = folder / "proxy"
    proxy_dir.mkdir()
    conf = servers.nginx_conf(proxy_dir, port, registry, proxy_dir / "tls.conf", None)
    proxy = hitless.ProxyContainer(proxy_dir, source=root / "data/secret/cert", port=port,
                                   conf_text=conf)  # fmt: skip
    proxy.tls_include()
    try:
        proxy.start(env, root / "opt/harbor")
        load = hitless.Load(port=port, host=HOST, ca_file=root / "data/ca_download/ca.crt",
                            clients=CLIENTS)  # fmt: skip
        load.start()
        try:
            time.sleep(1.0)
            started = time.monotonic()
            _tlsprov(tools, ["renew", "--config", str(config), "--force"], {**env, **proxy.env})
            returned = time.monotonic()
            time.sleep(1.5)
        finally:
            load.stop()
    finally:
        proxy.stop()
    from cryptography import x509

    leaf = (root / "data/cert/harbor.test.crt").read_bytes()
    new = x509.load_pem_x509_certificate(leaf).serial_number
    first_new = min((o.end for o in load.outcomes if o.serial == new), default=None)
    late_old = [o for o in load.outcomes if o.start > returned + 1.0 and o.serial != new]
    return {
        "requests": len(load.outcomes),
        "failed": len(load.failed()),
        "longest_gap_s": load.longest_gap(),
        "renew_s": returned - started,
        "new_within_1s": first_new is not None and first_new <= returned + 1.0 and not late_old,
    }


def run(runs: int = 5, *, workdir: Path, tools: Tools | None = None) -> dict[str, Any]:
    """Both variants, interleaved; failed requests, longest gap and renew time per variant."""
    tools = tools or find_tools()
    servers = _module("tlsprov_e2e_servers", E2E / "_servers.py")
    reg_dir = workdir / "b6-registry"
    reg_dir.mkdir(parents=True, exist_ok=True)
    registry = _free_port()
    (reg_dir / "config.yml").write_text(servers.registry_config(reg_dir / "data", registry))
    reg = servers.start_daemon(["docker-registry", "serve", str(reg_dir / "config.yml")],
                               reg_dir / "log", registry)  # fmt: skip
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    try:
        for round_no in range(runs):
            for variant in rotate(VARIANTS, round_no):
                folder = workdir / f"b6-{variant}-{round_no}"
                samples[variant].append(one_run(variant, folder, registry, tools))
    finally:
        servers.stop_process(reg)
    labels = {"hitless": "hitless renew (rename in place, nginx -s reload)",
              "prepare": "Harbor's procedure (prepare, down -v, up -d)"}  # fmt: skip
    measurements = {}
    for variant in VARIANTS:
        got = samples[variant]
        measurements[f"{labels[variant]}: longest gap between successes"] = summarize(
            [s["longest_gap_s"] for s in got]
        )
        measurements[f"{labels[variant]}: renew wall time"] = summarize([s["renew_s"] for s in got])
    hit, prep = samples["hitless"], samples["prepare"]
    hit_failed = max(s["failed"] for s in hit)
    prep_failed = statistics.median(s["failed"] for s in prep)
    requests = statistics.median(s["requests"] for s in hit)
    targets = [
        {
            "what": f"hitless renewal: failed requests ({CLIENTS} clients, fresh TLS each)",
            "measured": f"{hit_failed} (worst run; median {requests:,.0f} requests per run)",
            "target": "0",
            "met": hit_failed == 0,
            "note": "",
        },
        {
            "what": "hitless renewal: new serial served within 1 s after renew returns",
            "measured": f"{sum(s['new_within_1s'] for s in hit)} of {len(hit)} runs",
            "target": "every run",
            "met": all(s["new_within_1s"] for s in hit),
            "note": "",
        },
        {
            "what": "Harbor's procedure: failed requests (the outage the hitless path avoids)",
            "measured": f"{prep_failed:,.0f} (median; "
            f"{min(s['failed'] for s in prep)}–{max(s['failed'] for s in prep)})",
            "target": "> 0",
            "met": min(s["failed"] for s in prep) > 0,
            "note": "",
        },
    ]
    return {
        "bench": 6,
        "title": "renewal under load: hitless path against Harbor's procedure",
        "runs": runs,
        "measurements": measurements,
        "targets": targets,
        "samples": samples,
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tlsprov-bench6-") as tmp:
        print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1, workdir=Path(tmp)),
                         indent=2, default=str))  # fmt: skip
