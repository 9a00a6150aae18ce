"""The built-in demo: provision a sandbox Harbor end to end and prove it over real TLS.

1. :func:`build_sandbox`: a fake host root with a Harbor install folder (a harbor.yml in the
   shape of Harbor's template, a stand-in ``prepare``), stand-ins for ``docker``, ``systemctl``
   and ``update-ca-certificates`` that only record their calls, and a ``tlsprov.toml``.
2. :func:`tlsprov.lifecycle.provision`: private CA (created once, then reused), server certificate,
   harbor.yml edited, ``/data/cert``, Docker's certs.d, the OS trust store, ``./prepare`` and
   ``docker compose down -v`` / ``up -d`` (recorded).
3. The proxy: nginx (or Python's TLS server) serves what ``prepare`` rendered on 127.0.0.1.
4. ``tlsprov verify``'s check against it, trusting only the installed ``ca.crt``, plus two
   negative controls (system trust only; a wrong host name) that must fail.
5. With ``engines``: a real docker-registry behind the proxy, and private dockerd, containerd
   and podman (those installed) logging in and pushing through the folders tlsprov wrote.

Nothing outside the sandbox folder is touched; every listener is on 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tlsprov.demo._checks import describe_certificate, expect_refusal
from tlsprov.demo._sandbox import DEMO_HOST, Sandbox, build_sandbox
from tlsprov.demo._serve import serve
from tlsprov.errors import VerifyError

__all__ = ["DEMO_HOST", "Sandbox", "build_sandbox", "run_demo"]

Log = Callable[[str], None]


def _port(folder: Path) -> int:
    """The sandbox's HTTPS port: kept between runs (so a second run changes nothing)."""
    from tlsprov.testing import free_port

    saved = folder / "port"
    if saved.is_file():
        port = int(saved.read_text(encoding="ascii").strip() or 0)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
    port = free_port()
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(f"{port}\n", encoding="ascii")
    return port


def run_demo(
    folder: Path,
    *,
    key_type: str | None = None,
    log: Log | None = None,
    use_nginx: bool = True,
    engines: bool = False,
) -> dict[str, Any]:
    """Run every step in the sandbox ``folder`` and return a JSON-ready report.

    Raises:
        VerifyError: the sandbox Harbor failed verification, or an engine step failed.
    """
    from tlsprov.fsops import ensure_dir
    from tlsprov.lifecycle.config import load_config
    from tlsprov.lifecycle.lineage import StateStore
    from tlsprov.lifecycle.provision import provision
    from tlsprov.pki.verify import verify_endpoint
    from tlsprov.runner import CommandRunner

    say = log or (lambda _line: None)
    ensure_dir(folder)
    box = build_sandbox(folder, _port(folder), key_type, engines=engines)
    config = load_config(box.config)
    runner = CommandRunner(path=box.path(), env=box.environment(), timeout=60)
    say(f"provisioning {DEMO_HOST}:{box.port} in the sandbox {box.root}")
    before = box.record.read_text(encoding="utf-8") if box.record.exists() else ""
    result = provision(config, verify=False, runner=runner)
    after = box.record.read_text(encoding="utf-8") if box.record.exists() else ""
    commands = after[len(before) :].splitlines()
    bundle, _meta = StateStore(config.state_path).load(DEMO_HOST) or (None, None)
    if bundle is None:
        raise VerifyError("the demo provisioned nothing", hint="report this as a bug")
    ca = box.root / "etc" / "docker" / "certs.d" / f"{DEMO_HOST}:{box.port}" / "ca.crt"
    tls_include = box.harbor / "common" / "config" / "nginx" / "tls.conf"
    secret = box.root / "data" / "secret" / "cert"
    say(f"serving what prepare rendered on 127.0.0.1:{box.port} and verifying it")
    with serve(box.dir, box.port, tls_include, secret, DEMO_HOST, use_nginx=use_nginx) as server:
        report = verify_endpoint(
            DEMO_HOST, box.port, ca_pem=ca.read_bytes(), connect=("127.0.0.1", box.port)
        )
        if not report.ok:
            failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed)
            raise VerifyError(f"the sandbox Harbor failed verification: {failed}")
        without_ca = expect_refusal(DEMO_HOST, box.port, None, "with system trust only")
        wrong_host = expect_refusal("wrong.test", box.port, ca, "as wrong.test")
    engine_steps: list[dict[str, Any]] = []
    if engines:
        from tlsprov.demo._engine_demo import run_engines

        say("the guide's last step, with real engines: login and push through certs.d")
        engine_steps = run_engines(box, tls_include, say)
        broken = [s["step"] for s in engine_steps if s["ok"] is False]
        if broken:
            raise VerifyError(
                f"engine steps failed: {'; '.join(broken)}",
                hint=f"see the logs under {box.dir / 'engines'}",
            )
    return {
        "sandbox": str(box.dir),
        "root": str(box.root),
        "config": str(box.config),
        "ca_dir": str(box.ca_dir),
        "issued": result.issued,
        "reason": result.reason,
        "changed": result.changed,
        "files": list(result.files),
        "commands": commands,
        "certificate": describe_certificate(bundle),
        "server": server,
        "verify": report.to_json(),
        "without_ca": without_ca,
        "wrong_host": wrong_host,
        "engines": engine_steps,
    }
