"""Pebble + pebble-challtestsrv on loopback for the ACME benchmark.

challtestsrv is Pebble's DNS (every A query answers 127.0.0.1, no AAAA, no built-in
responders), so the HTTP-01 validation reaches whichever client listens on Pebble's
``httpPort``. Every port is dynamic, every wait has a deadline, processes are stopped by PID.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tlsprov.testing import free_port, wait_for_port

__all__ = ["AcmeServer", "acme_server"]


@dataclass(frozen=True, slots=True)
class AcmeServer:
    """A running Pebble: its directory URL, HTTP-01 port and listener CA file."""

    directory: str
    http_port: int
    listener_ca: Path


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _start(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )


def _listener(folder: Path) -> tuple[Path, Path, Path]:
    """Pebble's HTTPS listener certificate (localhost, 127.0.0.1, ::1) from a tlsprov CA."""
    import tlsprov

    provider = tlsprov.get_provider("selfsigned", ca_dir=str(folder / "ca"), key_type="ec256")
    bundle = provider.issue(tlsprov.make_request(["localhost", "127.0.0.1", "::1"]))
    files = tlsprov.write_bundle(folder / "listener", "localhost", bundle)
    return files["ca"], files["crt"], files["key"]


@contextmanager
def acme_server(folder: Path) -> Iterator[AcmeServer]:
    """Start challtestsrv then Pebble in ``folder``; stop both on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = _listener(folder)
    mgmt, dns = free_port(), free_port()
    dns_log = folder / "challtestsrv.log"
    dns_proc = _start(
        [
            "pebble-challtestsrv",
            *("-management", f"127.0.0.1:{mgmt}", "-dns01", f"127.0.0.1:{dns}"),
            *("-http01", "", "-https01", "", "-tlsalpn01", ""),  # no built-in responders
            *("-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""),  # A -> 127.0.0.1, no AAAA
        ],
        dns_log,
    )
    try:
        wait_for_port("127.0.0.1", mgmt, timeout=15, proc=dns_proc, log=dns_log)
        acme, pmgmt, http, tls = (free_port() for _ in range(4))
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{acme}",
                "managementListenAddress": f"127.0.0.1:{pmgmt}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": http,
                "tlsPort": tls,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        cfg = folder / "pebble-config.json"
        cfg.write_text(json.dumps(config), encoding="utf-8")
        env = {
            **os.environ,
            "PEBBLE_VA_NOSLEEP": "1",  # no random delay before each validation
            "PEBBLE_WFE_NONCEREJECT": "0",  # no deliberate badNonce answers
            "PEBBLE_AUTHZREUSE": "0",  # every run proves control anew
        }
        log = folder / "pebble.log"
        proc = _start(
            ["pebble", "-config", str(cfg), "-dnsserver", f"127.0.0.1:{dns}", "-strict=false"],
            log,
            env,
        )
        try:
            wait_for_port("127.0.0.1", acme, timeout=20, proc=proc, log=log)
            yield AcmeServer(f"https://127.0.0.1:{acme}/dir", http, ca)
        finally:
            _stop(proc)
    finally:
        _stop(dns_proc)
