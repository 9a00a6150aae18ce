"""dns-01 through dns-lexicon against a real PowerDNS, which Pebble resolves through.

PowerDNS (Debian ``pdns-server`` + ``pdns-backend-sqlite3``) runs on 127.0.0.1 with its HTTP API,
authoritative for ``harbor.test``; lexicon's ``powerdns`` provider writes the records.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

import tlsprov
from tlsprov.testing import check_provider_conformance, free_port, wait_for_port

ZONE = "harbor.test"
SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")


@dataclass
class PowerDns:
    port: int
    api_port: int
    api_key: str
    config_dir: Path

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v1"

    def rrsets(self, rtype: str = "TXT") -> list[dict[str, Any]]:
        """Every ``rtype`` rrset of the zone, read through the API."""
        request = urllib.request.Request(
            f"{self.api}/servers/localhost/zones/{ZONE}.", headers={"X-API-Key": self.api_key}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            zone = json.load(resp)
        return [r for r in zone["rrsets"] if r["type"] == rtype]


def _txt(port: int, name: str) -> list[str]:
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    resp = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
    return [b"".join(r.strings).decode() for rrset in resp.answer for r in rrset]


@pytest.fixture(scope="module")
def pdns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PowerDns]:
    """pdns_server in the foreground, gsqlite3 backend, API on, no caches (records at once)."""
    folder = tmp_path_factory.mktemp("pdns")
    database = folder / "pdns.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(SCHEMA.read_text(encoding="utf-8"))
    port, api_port, key = free_port(), free_port(), secrets.token_hex(16)
    (folder / "pdns.conf").write_text(
        f"launch=gsqlite3\ngsqlite3-database={database}\n"
        f"local-address=127.0.0.1\nlocal-port={port}\n"
        f"api=yes\napi-key={key}\nwebserver=yes\nwebserver-address=127.0.0.1\n"
        f"webserver-port={api_port}\nwebserver-allow-from=127.0.0.1\n"
        "cache-ttl=0\nnegquery-cache-ttl=0\nquery-cache-ttl=0\nzone-cache-refresh-interval=0\n"
        f"socket-dir={folder}\nguardian=no\ndaemon=no\ndisable-syslog=yes\nloglevel=4\n",
        encoding="utf-8",
    )
    util = ["pdnsutil", f"--config-dir={folder}"]
    for argv in (
        [*util, "create-zone", ZONE, f"ns.{ZONE}"],
        [*util, "add-record", ZONE, "ns", "A", "127.0.0.1"],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    log = folder / "pdns.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["pdns_server", f"--config-dir={folder}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=20, proc=proc, log=log)
        wait_for_port("127.0.0.1", api_port, timeout=20, proc=proc, log=log)
        yield PowerDns(port, api_port, key, folder)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _options(pdns: PowerDns, acme_options: Callable[..., dict[str, Any]], server: Any, **kw: Any):  # type: ignore[no-untyped-def]
    lexicon = {
        "auth_token": kw.pop("auth_token", pdns.api_key),
        "pdns_server": f"http://127.0.0.1:{pdns.api_port}",
        "pdns_server_id": "localhost",
    }
    return acme_options(
        server,
        challenge="dns-01",
        dns="lexicon",
        lexicon_provider="powerdns",
        lexicon=lexicon,
        dns_resolver=f"127.0.0.1:{pdns.port}",
        dns_propagation_timeout=15,
        **kw,
    )


def test_wildcard_certificate_through_powerdns_and_the_records_are_gone(
    pdns: PowerDns,
    pebble_factory: Callable[..., Any],
    acme_options: Callable[..., dict[str, Any]],
) -> None:
    server = pebble_factory(dns_port=pdns.port)
    provider = tlsprov.get_provider("letsencrypt", **_options(pdns, acme_options, server))
    check_provider_conformance(provider, tlsprov.make_request([ZONE, f"*.{ZONE}"]))
    assert _txt(pdns.port, f"_acme-challenge.{ZONE}") == []
    assert pdns.rrsets() == []  # created and cleaned up through the API


def test_secret_from_the_environment_reaches_the_lexicon_provider(
    pdns: PowerDns,
    pebble_factory: Callable[..., Any],
    acme_options: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TLSPROV_TEST_PDNS_KEY", pdns.api_key)
    server = pebble_factory(dns_port=pdns.port)
    opts = _options(pdns, acme_options, server, auth_token={"env": "TLSPROV_TEST_PDNS_KEY"})
    provider = tlsprov.get_provider("letsencrypt", **opts)
    assert "auth_token" not in repr(provider) and pdns.api_key not in repr(provider)
    check_provider_conformance(provider, tlsprov.make_request([f"env.{ZONE}"]))
    assert pdns.rrsets() == []


def test_wrong_api_key_fails_cleanly_and_leaves_nothing(
    pdns: PowerDns,
    pebble_factory: Callable[..., Any],
    acme_options: Callable[..., dict[str, Any]],
) -> None:
    server = pebble_factory(dns_port=pdns.port)
    opts = _options(pdns, acme_options, server, auth_token="wrong-" + pdns.api_key)
    with pytest.raises(tlsprov.IssuanceError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request([f"bad.{ZONE}"]))
    line = info.value.one_line()
    assert "powerdns" in line and "_acme-challenge.bad.harbor.test" in line, line
    assert "\n" not in line and pdns.api_key not in line
    assert pdns.rrsets() == []


def test_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    base = {"directory": "https://127.0.0.1:1/dir", "account_dir": str(tmp_path), "agree_tos": True}
    with pytest.raises(tlsprov.ConfigError) as info:
        tlsprov.get_provider("letsencrypt", **base, challenge="dns-01", dns="lexicon")
    assert info.value.key == "lexicon_provider"
    with pytest.raises(tlsprov.ConfigError) as info:
        tlsprov.get_provider("letsencrypt", **base, lexicon_provider="powerdns")
    assert "http-01" in info.value.one_line()  # dns options need challenge = dns-01
    with pytest.raises(tlsprov.ConfigError) as info:
        tlsprov.get_provider("letsencrypt", **base, challenge="dns-01", dns="carrier-pigeon")
    assert info.value.key == "dns"


def test_a_missing_extra_says_what_to_install(tmp_path: Path) -> None:
    code = f"""
import sys
sys.modules["lexicon"] = None  # as if tlsprov[lexicon] were not installed
import tlsprov
opts = dict(directory="https://127.0.0.1:1/dir", account_dir={str(tmp_path)!r}, agree_tos=True,
            challenge="dns-01", lexicon_provider="powerdns", dns_resolver="127.0.0.1:1")
try:
    tlsprov.get_provider("letsencrypt", **opts)
except tlsprov.ConfigError as exc:
    print(exc.one_line())
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "tlsprov[lexicon]" in proc.stdout, proc.stdout + proc.stderr


def _sans(pem: bytes) -> list[str]:
    from cryptography import x509

    leaf = x509.load_pem_x509_certificate(pem)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return sorted(san.get_values_for_type(x509.DNSName))


def test_the_command_line_as_typed(
    pdns: PowerDns, pebble_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """``--dns lexicon --lexicon-provider NAME -o lexicon.KEY=VALUE``, the token from the env."""
    server = pebble_factory(dns_port=pdns.port)
    out = tmp_path / "out"
    argv = [
        sys.executable, "-m", "tlsprov", "issue", f"cli.{ZONE}", "--alt-name", f"*.cli.{ZONE}",
        "--provider", "letsencrypt", "--directory", server.directory,
        "--ca-bundle", str(server.listener.ca), "--agree-tos",
        "--account-dir", str(tmp_path / "account"), "--key-type", "ec256",
        "--challenge", "dns-01", "--dns", "lexicon", "--lexicon-provider", "powerdns",
        "-o", 'lexicon.auth_token={env = "TLSPROV_TEST_PDNS_KEY"}',
        "-o", f"lexicon.pdns_server=http://127.0.0.1:{pdns.api_port}",
        "-o", "lexicon.pdns_server_id=localhost",
        "--dns-resolver", f"127.0.0.1:{pdns.port}", "--dns-propagation-timeout", "15",
        "--out", str(out), "--json",
    ]  # fmt: skip
    env = {**os.environ, "TLSPROV_TEST_PDNS_KEY": pdns.api_key}
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert pdns.api_key not in proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["provider"] == "letsencrypt"
    assert _sans((out / f"cli.{ZONE}.crt").read_bytes()) == [f"*.cli.{ZONE}", f"cli.{ZONE}"]
    assert pdns.rrsets() == []  # every record it made is gone


def test_the_config_file_as_written(
    pdns: PowerDns, pebble_factory: Callable[..., Any], tmp_path: Path
) -> None:
    """``[provider.letsencrypt]`` with ``dns = "lexicon"`` and ``[provider.letsencrypt.lexicon]``
    (the token through ``{file}``), read the way ``provision`` reads it."""
    from tlsprov.lifecycle.config import load_config
    from tlsprov.lifecycle.provision import provider_options
    from tlsprov.plugins.registry import default_registry

    server = pebble_factory(dns_port=pdns.port)
    token = tmp_path / "pdns-token"
    token.write_text(pdns.api_key + "\n", encoding="utf-8")
    config_file = tmp_path / "tlsprov.toml"
    config_file.write_text(
        f"""
[harbor]
hostname = "cfg.{ZONE}"

[provider]
name = "letsencrypt"

[provider.letsencrypt]
directory = "{server.directory}"
ca_bundle = "{server.listener.ca}"
agree_tos = true
account_dir = "{tmp_path / "account"}"
challenge = "dns-01"
dns = "lexicon"
lexicon_provider = "powerdns"
dns_resolver = "127.0.0.1:{pdns.port}"
dns_propagation_timeout = 15

[provider.letsencrypt.lexicon]
auth_token = {{ file = "{token}" }}
pdns_server = "http://127.0.0.1:{pdns.api_port}"
pdns_server_id = "localhost"
""",
        encoding="utf-8",
    )
    config = load_config(config_file)
    registry = default_registry()
    provider = registry.get_provider(
        config.provider_name, provider_options(config, registry), source=config.options_source
    )
    assert pdns.api_key not in repr(provider)
    bundle = provider.issue(tlsprov.make_request([f"cfg.{ZONE}", f"*.cfg.{ZONE}"]))
    assert _sans(bundle.leaf_pem) == [f"*.cfg.{ZONE}", f"cfg.{ZONE}"]
    assert pdns.rrsets() == []
