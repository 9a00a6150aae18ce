"""dns-01 through RFC 2136 dynamic updates to a real BIND 9, which Pebble resolves through."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
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

KEY_NAME = "tlsprov-test"


@dataclass
class Bind:
    port: int
    key_file: Path


def _txt(port: int, name: str) -> list[str]:
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    resp = dns.query.udp(query, "127.0.0.1", port=port, timeout=5)
    return [b"".join(r.strings).decode() for rrset in resp.answer for r in rrset]


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[Bind]:
    """named in the foreground on 127.0.0.1:<port>, primary for ``test.``, updates by TSIG."""
    folder = tmp_path / "named"
    folder.mkdir()
    os.chmod(folder, 0o777)  # named may switch users; let it write its journal
    secret = base64.b64encode(secrets.token_bytes(32)).decode()
    key_text = f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
    key_file = tmp_path / "tsig.key"
    key_file.write_text(key_text)
    (folder / "test.zone").write_text(
        "$TTL 60\n"
        "@ IN SOA ns.test. admin.test. 1 60 60 600 60\n"
        "@ IN NS ns.test.\n"
        "ns IN A 127.0.0.1\n"
        "* IN A 127.0.0.1\n"
    )
    port = free_port()
    conf = folder / "named.conf"
    conf.write_text(
        f"""options {{
    directory "{folder}";
    pid-file "{folder}/named.pid";
    session-keyfile "{folder}/session.key";
    managed-keys-directory "{folder}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
}};
controls {{ }};
{key_text}
zone "test" {{
    type primary;
    file "{folder}/test.zone";
    allow-update {{ key "{KEY_NAME}"; }};
}};
"""
    )
    log = folder / "named.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["named", "-g", "-4", "-c", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        wait_for_port("127.0.0.1", port, timeout=15, proc=proc, log=log)
        yield Bind(port, key_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_rfc2136_with_tsig_against_bind(
    bind: Bind,
    pebble_factory: Callable[..., Any],
    acme_options: Callable[..., dict[str, Any]],
) -> None:
    server = pebble_factory(dns_port=bind.port)
    opts = acme_options(
        server,
        challenge="dns-01",
        rfc2136_server=f"127.0.0.1:{bind.port}",
        tsig_key=str(bind.key_file),
        dns_propagation_timeout=10,
    )
    provider = tlsprov.get_provider("letsencrypt", **opts)
    check_provider_conformance(provider, tlsprov.make_request(["*.rfc.test", "rfc.test"]))
    assert _txt(bind.port, "_acme-challenge.rfc.test") == []  # withdrawn afterwards


def test_rfc2136_wrong_key_is_refused(
    bind: Bind,
    pebble_factory: Callable[..., Any],
    acme_options: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    server = pebble_factory(dns_port=bind.port)
    wrong = tmp_path / "wrong.key"
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    wrong.write_text(f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{other}"; }};\n')
    opts = acme_options(
        server,
        challenge="dns-01",
        rfc2136_server=f"127.0.0.1:{bind.port}",
        tsig_key=str(wrong),
    )
    with pytest.raises(tlsprov.IssuanceError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["bad.test"]))
    line = info.value.one_line()
    assert "_acme-challenge.bad.test" in line and "\n" not in line
