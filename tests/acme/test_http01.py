"""http-01 against a real Pebble: the standalone responder and a webroot served on loopback."""

from __future__ import annotations

import functools
import http.server
import logging
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

import tlsprov
from tlsprov.pki.bundleio import write_bundle
from tlsprov.testing import check_provider_conformance


def _verify(tmp_path: Path, root: bytes, files: dict[str, Path]) -> None:
    """openssl verify -CAfile root -untrusted chain leaf."""
    pems = files["crt"].read_bytes().split(b"-----END CERTIFICATE-----")
    leaf = tmp_path / "leaf.pem"
    chain = tmp_path / "chain.pem"
    leaf.write_bytes(pems[0] + b"-----END CERTIFICATE-----\n")
    chain.write_bytes(b"-----END CERTIFICATE-----".join(pems[1:]).lstrip())
    root_file = tmp_path / "root.pem"
    root_file.write_bytes(root)
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root_file), "-untrusted", str(chain), str(leaf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # negative control: without the intermediate the leaf does not verify to the root
    proc = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root_file), str(leaf)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0


def test_standalone_issues_and_chain_verifies_to_pebble_root(
    pebble: Any, acme_options: Callable[..., dict[str, Any]], tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="tlsprov")
    root = pebble.root_pem()
    root_file = tmp_path / "pebble-root.pem"
    root_file.write_bytes(root)
    provider = tlsprov.get_provider("letsencrypt", **acme_options(root_ca=str(root_file)))
    request = tlsprov.make_request(["harbor.test", "127.0.0.1"], key_type="ec256")
    bundle = check_provider_conformance(provider, request)
    assert bundle.ca_pem.strip() == root.strip()
    assert provider.impl.ca_source == f"root_ca {root_file}"
    files = write_bundle(tmp_path / "out", "harbor.test", bundle)
    _verify(tmp_path, root, files)
    assert stat.S_IMODE(files["key"].stat().st_mode) == 0o600
    account_key = tmp_path / "account" / "account.key"
    assert stat.S_IMODE(account_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(account_key.parent.stat().st_mode) == 0o700
    text = caplog.text
    assert "waiting for the CA to validate harbor.test (http-01)" in text
    assert "waiting for the CA to validate 127.0.0.1 (http-01)" in text
    assert "PRIVATE KEY" not in text


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webroot_server(pebble: Any, tmp_path: Path) -> Iterator[Path]:
    """A plain static HTTP server on 127.0.0.1:<pebble's httpPort> serving a folder."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("harbor\n")
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", pebble.http_port), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_webroot_writes_token_and_removes_it(
    pebble: Any, acme_options: Callable[..., dict[str, Any]], webroot_server: Path, tmp_path: Path
) -> None:
    provider = tlsprov.get_provider("letsencrypt", **acme_options(webroot=str(webroot_server)))
    request = tlsprov.make_request(["webroot.test"])
    bundle = check_provider_conformance(provider, request)
    # without root_ca, ca.crt is the last certificate of the served chain
    assert provider.impl.ca_source == "served chain"
    assert bundle.ca_pem == bundle.chain_pem[-1]
    root = x509.load_pem_x509_certificate(pebble.root_pem())
    x509.load_pem_x509_certificate(bundle.ca_pem).verify_directly_issued_by(root)
    # the token files and the folders tlsprov made are gone; the site is untouched
    assert sorted(p.name for p in webroot_server.iterdir()) == ["index.html"]


def test_valid_authorization_is_reused(
    acme_options: Callable[..., dict[str, Any]], caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="tlsprov")
    provider = tlsprov.get_provider("letsencrypt", **acme_options())
    request = tlsprov.make_request(["reuse.test"])
    provider.issue(request)
    assert "reusing" not in caplog.text
    caplog.clear()
    bundle = provider.issue(request)
    assert "reusing 1 valid authorization(s)" in caplog.text
    assert "waiting for the CA to validate" not in caplog.text
    assert b"BEGIN CERTIFICATE" in bundle.leaf_pem


def test_pre_and_post_hooks_run_around_standalone(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    log = tmp_path / "hooks.log"
    opts = acme_options(
        pre_hook=["sh", "-c", f"echo pre >> {log}"],
        post_hook=["sh", "-c", f"echo post >> {log}"],
    )
    tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["hooks.test"]))
    assert log.read_text().split() == ["pre", "post"]


def test_busy_port_is_one_clear_error_and_post_hook_still_runs(
    acme_options: Callable[..., dict[str, Any]], pebble: Any, tmp_path: Path
) -> None:
    import socket

    log = tmp_path / "hooks.log"
    opts = acme_options(
        pre_hook=["sh", "-c", f"echo pre >> {log}"],
        post_hook=["sh", "-c", f"echo post >> {log}"],
    )
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        holder.bind(("127.0.0.1", pebble.http_port))
        holder.listen()
        with pytest.raises(tlsprov.IssuanceError) as info:
            tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["busy.test"]))
    line = info.value.one_line()
    assert f"cannot listen on 127.0.0.1:{pebble.http_port} for http-01" in line
    assert "\n" not in line
    assert log.read_text().split() == ["pre", "post"]


@pytest.mark.parametrize(
    ("names", "extra", "error", "text"),
    [
        (["*.wild.test"], {}, tlsprov.InputError, "only be validated with dns-01"),
        (["harbor.test"], {"key_type": "ed25519"}, tlsprov.ConfigError, "ed25519"),
    ],
)
def test_requests_refused_before_any_network(
    names: list[str], extra: dict[str, Any], error: type[Exception], text: str, tmp_path: Path
) -> None:
    opts = {
        "directory": "https://127.0.0.1:9/dir",  # nothing listens: refused before contacting it
        "agree_tos": True,
        "account_dir": str(tmp_path / "acct"),
        **extra,
    }
    with pytest.raises(error, match=text):
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(names))
    assert not (tmp_path / "acct").exists()


def test_client_certificate_is_refused_with_pointer(tmp_path: Path) -> None:
    opts = {"directory": "https://127.0.0.1:9/dir", "account_dir": str(tmp_path / "a")}
    request = tlsprov.make_request(["robot.test"], usage=tlsprov.Usage.CLIENT)
    with pytest.raises(tlsprov.NotSupported) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(request)
    assert "--provider selfsigned" in info.value.one_line()
    assert not (tmp_path / "a").exists()
