"""Real Pebble + pebble-challtestsrv on loopback for the ACME provider tests.

One challtestsrv (mock DNS: every A query answers 127.0.0.1, no AAAA) and one Pebble run per
session; tests that need another Pebble configuration (EAB, nonce rejection) start their own
with :func:`start_pebble`, which takes about half a second. Every port is dynamic, every wait has
a deadline, every process is stopped by its PID.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsprov.testing import free_port, wait_for_port

BLOCKED = "blocked.test"
EAB_KID = "kid-1"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


@dataclass
class Listener:
    """The throw-away CA that signs Pebble's HTTPS listener certificate."""

    ca: Path
    cert: Path
    key: Path


@dataclass
class Pebble:
    """A running Pebble."""

    proc: subprocess.Popen[bytes]
    directory: str
    mgmt_port: int
    http_port: int
    listener: Listener
    log: Path

    def root_pem(self) -> bytes:
        """The issuing root (new on every start), from the management port."""
        ctx = ssl.create_default_context(cafile=str(self.listener.ca))
        url = f"https://127.0.0.1:{self.mgmt_port}/roots/0"
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            data: bytes = resp.read()
            return data


@dataclass
class ChallTestSrv:
    """A running pebble-challtestsrv."""

    mgmt_port: int
    dns_port: int

    def post(self, endpoint: str, payload: dict[str, Any]) -> None:
        """POST a JSON payload to a management endpoint."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.mgmt_port}/{endpoint}",
            data=json.dumps(payload).encode(),
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _make_listener(folder: Path) -> Listener:
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble listener test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = Listener(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca.write_bytes(ca.public_bytes(pem))
    paths.cert.write_bytes(leaf.public_bytes(pem))
    paths.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def start_pebble(
    folder: Path,
    listener: Listener,
    dns_port: int,
    *,
    env: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Pebble:
    """Start a Pebble whose VA resolves through ``127.0.0.1:dns_port``."""
    folder.mkdir(parents=True, exist_ok=True)
    acme_port, mgmt_port, http_port, tls_port = (free_port() for _ in range(4))
    cfg = {
        "listenAddress": f"127.0.0.1:{acme_port}",
        "managementListenAddress": f"127.0.0.1:{mgmt_port}",
        "certificate": str(listener.cert),
        "privateKey": str(listener.key),
        "httpPort": http_port,
        "tlsPort": tls_port,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
        "domainBlocklist": [BLOCKED],
        **(config or {}),
    }
    cfg_path = folder / "pebble-config.json"
    cfg_path.write_text(json.dumps({"pebble": cfg}), encoding="utf-8")
    log = folder / "pebble.log"
    full_env = {
        **os.environ,
        "PEBBLE_VA_NOSLEEP": "1",
        "PEBBLE_WFE_NONCEREJECT": "0",
        "PEBBLE_AUTHZREUSE": "100",
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "pebble",
                "-config",
                str(cfg_path),
                "-dnsserver",
                f"127.0.0.1:{dns_port}",
                "-strict=false",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )
    try:
        wait_for_port("127.0.0.1", acme_port, timeout=15, proc=proc, log=log)
        wait_for_port("127.0.0.1", mgmt_port, timeout=15, proc=proc, log=log)
    except BaseException:
        _stop(proc)
        raise
    return Pebble(
        proc=proc,
        directory=f"https://127.0.0.1:{acme_port}/dir",
        mgmt_port=mgmt_port,
        http_port=http_port,
        listener=listener,
        log=log,
    )


@pytest.fixture(scope="session")
def listener(tmp_path_factory: pytest.TempPathFactory) -> Listener:
    """Pebble's listener CA and certificate (localhost, 127.0.0.1, ::1)."""
    return _make_listener(tmp_path_factory.mktemp("pebble-listener"))


@pytest.fixture(scope="session")
def challtestsrv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    """pebble-challtestsrv as Pebble's DNS: A → 127.0.0.1, no AAAA, no built-in responders."""
    folder = tmp_path_factory.mktemp("challtestsrv")
    mgmt, dns = free_port(), free_port()
    log = folder / "challtestsrv.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                "pebble-challtestsrv",
                "-management",
                f"127.0.0.1:{mgmt}",
                "-dns01",
                f"127.0.0.1:{dns}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for_port("127.0.0.1", mgmt, timeout=15, proc=proc, log=log)
        wait_for_port("127.0.0.1", dns, timeout=15, proc=proc, log=log)
        yield ChallTestSrv(mgmt, dns)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def pebble(
    tmp_path_factory: pytest.TempPathFactory, listener: Listener, challtestsrv: ChallTestSrv
) -> Iterator[Pebble]:
    """The session's Pebble (blocklist: blocked.test; authorizations always reused)."""
    server = start_pebble(tmp_path_factory.mktemp("pebble"), listener, challtestsrv.dns_port)
    try:
        yield server
    finally:
        _stop(server.proc)


@pytest.fixture
def pebble_factory(
    tmp_path_factory: pytest.TempPathFactory, listener: Listener, challtestsrv: ChallTestSrv
) -> Iterator[Callable[..., Pebble]]:
    """Start extra Pebbles for one test (``env=``, ``config=``, ``dns_port=``); stopped after."""
    started: list[Pebble] = []

    def start(
        *,
        env: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        dns_port: int | None = None,
    ) -> Pebble:
        server = start_pebble(
            tmp_path_factory.mktemp("pebble-extra"),
            listener,
            dns_port if dns_port is not None else challtestsrv.dns_port,
            env=env,
            config=config,
        )
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            _stop(server.proc)


def options_for(server: Pebble, account_dir: Path, **extra: Any) -> dict[str, Any]:
    """Provider options for ``server``: its CA bundle, loopback responder, short timeout."""
    return {
        "directory": server.directory,
        "ca_bundle": str(server.listener.ca),
        "agree_tos": True,
        "account_dir": str(account_dir),
        "http_address": "127.0.0.1",
        "http_port": server.http_port,
        "timeout": 30,
        **extra,
    }


@pytest.fixture
def acme_options(pebble: Pebble, tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``acme_options(**extra)``: options for the session Pebble with a fresh account folder."""

    def make(server: Pebble | None = None, **extra: Any) -> dict[str, Any]:
        return options_for(server or pebble, tmp_path / "account", **extra)

    return make


@pytest.fixture
def dns_hook(tmp_path: Path, challtestsrv: ChallTestSrv) -> Path:
    """An executable ``hook add|remove RECORD VALUE`` that sets TXT records in challtestsrv."""
    script = tmp_path / "dns-hook"
    script.write_text(
        f"""#!{sys.executable}
import json, sys, urllib.request
action, record, value = sys.argv[1:4]
host = record.rstrip(".") + "."
if action == "add":
    endpoint, payload = "set-txt", {{"host": host, "value": value}}
elif action == "remove":
    endpoint, payload = "clear-txt", {{"host": host}}
else:
    sys.exit("unknown action " + action)
req = urllib.request.Request(
    "http://127.0.0.1:{challtestsrv.mgmt_port}/" + endpoint,
    data=json.dumps(payload).encode(), method="POST")
urllib.request.urlopen(req, timeout=10).read()
with open({str(tmp_path / "hook.log")!r}, "a") as log:
    log.write(action + " " + record + "\\n")
""",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script
