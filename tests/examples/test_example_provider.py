"""The example third-party plugin (``examples/tlsprov-example-provider``), end to end.

In-process tests use the package from the source tree: registration, options, the checks on
the CA files and the bundle it issues. The end-to-end test installs the distribution into the
virtualenv with pip, selects the provider by name in a ``tlsprov.toml``, provisions a sandbox
Harbor host (harbor, docker, os-trust) with the CLI in fresh processes (so entry points are read
anew), makes real TLS handshakes trusting only the root (Python's ssl, then nginx + a skopeo
push), then uninstalls it and checks that a config naming it fails in one line.

A plugin that fails to import (the error names it, every other plugin still works, a request
naming it fails in one line) is covered by ``tests/plugins/test_entry_points.py`` with the
``tlsprov-test-broken`` distribution; it is not repeated here.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]
import tlsprov_example_helpers as H  # type: ignore[import-not-found]
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

import tlsprov
from tlsprov.pki.x509 import load_certs, split_pem
from tlsprov.testing import check_provider_conformance, registry_with

NAMES = [S.HOST, "127.0.0.1"]


def _provider(plugin: ModuleType, options: dict[str, Any]) -> Any:
    return registry_with(plugin).get_provider(H.PROVIDER, options)


def _request(*, usage: tlsprov.Usage = tlsprov.Usage.SERVER, days: int | None = None) -> Any:
    return tlsprov.make_request(NAMES, usage=usage, key_type="ec256", validity_days=days)


# --------------------------------------------------------------------------- the package


def test_importing_the_plugin_module_is_cheap() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(H.EXAMPLE / 'src')!r}); "
        "import tlsprov_example_provider as p; "
        "print(p.tlsprov_register_providers()[0].name, 'cryptography' in sys.modules, "
        "'tlsprov_example_provider._provider' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [H.PROVIDER, "False", "False"]


def test_issues_leaf_signed_by_the_intermediate(example_source: ModuleType, pki: Any) -> None:
    provider = _provider(example_source, pki.options())
    bundle = check_provider_conformance(provider, _request())
    assert bundle.chain_pem == (H.pem(pki.inter),)
    assert bundle.ca_pem == H.pem(pki.root)
    leaf = load_certs(bundle.leaf_pem)[0]
    assert leaf.issuer == pki.inter.subject
    leaf.verify_directly_issued_by(pki.inter)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = pki.inter.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    # The Harbor certificate file is leaf + intermediate.
    assert load_certs(bundle.fullchain_pem)[1] == pki.inter
    assert b"PRIVATE" not in repr(bundle).encode() + repr(provider.impl).encode()


def test_client_certificates_and_validity_capped_at_the_ca(
    example_source: ModuleType, pki: Any
) -> None:
    provider = _provider(example_source, pki.options(days=30))
    client = check_provider_conformance(provider, _request(usage=tlsprov.Usage.CLIENT))
    leaf = load_certs(client.leaf_pem)[0]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert dt.timedelta(days=30) <= lifetime <= dt.timedelta(days=30, minutes=6)

    long = provider.issue(_request(days=100_000))
    assert load_certs(long.leaf_pem)[0].not_valid_after_utc == pki.inter.not_valid_after_utc


def test_trust_anchor_defaults(example_source: ModuleType, pki: Any) -> None:
    # ca_cert holding intermediate + root: the last one is the trust anchor.
    bundle_file = pki.write("chain.crt", H.pem(pki.inter) + H.pem(pki.root))
    opts = pki.options(ca_cert=str(bundle_file))
    del opts["root_cert"]
    bundle = check_provider_conformance(_provider(example_source, opts), _request())
    assert (bundle.chain_pem, bundle.ca_pem) == ((H.pem(pki.inter),), H.pem(pki.root))
    # root_cert also inside ca_cert: not sent twice.
    bundle = _provider(example_source, pki.options(ca_cert=str(bundle_file))).issue(_request())
    assert (bundle.chain_pem, bundle.ca_pem) == ((H.pem(pki.inter),), H.pem(pki.root))
    # Only the intermediate and no root_cert: clients trust the intermediate itself.
    opts = pki.options()
    del opts["root_cert"]
    bundle = check_provider_conformance(_provider(example_source, opts), _request())
    assert (bundle.chain_pem, bundle.ca_pem) == ((), H.pem(pki.inter))


def test_options_are_validated(example_source: ModuleType, pki: Any) -> None:
    with pytest.raises(tlsprov.ConfigError) as info:
        _provider(example_source, pki.options(colour="blue", ca_dir="/x"))
    line = info.value.one_line()
    assert line.startswith("provider.intermediate-ca: ca_dir: unknown option(s) ca_dir, colour")
    assert "allowed options: ca_cert, ca_key, root_cert, key_type, days, ca_key_passphrase" in line
    assert info.value.exit_code == 2

    opts = pki.options()
    del opts["ca_key"]
    with pytest.raises(tlsprov.ConfigError, match="ca_key: is required"):
        _provider(example_source, opts)
    with pytest.raises(tlsprov.ConfigError, match="key_type: unknown key type 'dsa'"):
        _provider(example_source, pki.options(key_type="dsa"))
    for days in (0, "30", True):
        with pytest.raises(tlsprov.ConfigError, match="days: must be a whole number"):
            _provider(example_source, pki.options(days=days))


def _refusal(example_source: ModuleType, options: dict[str, Any]) -> tlsprov.InputError:
    with pytest.raises(tlsprov.InputError) as info:
        _provider(example_source, options)
    err = info.value
    assert err.hint, err.message
    assert "PRIVATE KEY" not in err.one_line()
    return err


def test_refuses_unusable_ca_files(example_source: ModuleType, pki: Any) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    wrong_key = pki.write("other.key", H.key_pem(other))
    err = _refusal(example_source, pki.options(ca_key=str(wrong_key)))
    assert f"{wrong_key} does not match the certificate" in err.message
    assert "intermediate CA's own private key" in (err.hint or "")

    leaf = H.make_cert("not a ca", other, issuer=(pki.inter, pki.inter_key), ca=False)
    not_ca = pki.write("leaf.crt", H.pem(leaf))
    err = _refusal(example_source, pki.options(ca_cert=str(not_ca), ca_key=str(wrong_key)))
    assert "is not a CA certificate" in err.message

    old = H.make_cert(
        "Old Intermediate", pki.inter_key, issuer=(pki.root, pki.root_key),
        start=dt.timedelta(days=-400), days=365,
    )  # fmt: skip
    expired = pki.write("expired.crt", H.pem(old))
    err = _refusal(example_source, pki.options(ca_cert=str(expired)))
    assert "Old Intermediate" in err.message and "expired on" in err.message

    stranger_key = ec.generate_private_key(ec.SECP256R1())
    stranger = pki.write("stranger.crt", H.pem(H.make_cert("Stranger Root", stranger_key)))
    err = _refusal(example_source, pki.options(root_cert=str(stranger)))
    assert "is not signed by" in err.message and "Stranger Root" in err.message

    err = _refusal(example_source, pki.options(root_cert=str(pki.folder / "missing.crt")))
    assert "cannot read root_cert" in err.message

    garbage = pki.write("garbage.crt", b"not a certificate\n")
    err = _refusal(example_source, pki.options(ca_cert=str(garbage)))
    assert "holds no PEM certificate" in err.message


def test_encrypted_ca_key_needs_its_passphrase(
    example_source: ModuleType, pki: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = pki.write("locked.key", H.key_pem(pki.inter_key, b"s3cret-passphrase"))
    err = _refusal(example_source, pki.options(ca_key=str(locked)))
    assert "is encrypted and no passphrase was given" in err.message
    err = _refusal(example_source, pki.options(ca_key=str(locked), ca_key_passphrase="wrong"))
    assert "wrong passphrase" in err.message
    monkeypatch.setenv("EXAMPLE_CA_PASS", "s3cret-passphrase")
    opts = pki.options(ca_key=str(locked), ca_key_passphrase={"env": "EXAMPLE_CA_PASS"})
    provider = _provider(example_source, opts)
    assert "s3cret" not in repr(provider.impl) + repr(provider.impl.options)
    check_provider_conformance(provider, _request())


# --------------------------------------------------------------------------- end to end


def _config(box: Any, pki: Any, port: int, *, verify: bool) -> Path:
    path: Path = box.base / "tlsprov.toml"
    path.write_text(
        f"""
[harbor]
hostname = "{S.HOST}"
https_port = {port}
alt_names = ["127.0.0.1"]
install_dir = "/opt/harbor"

[provider]
name = "{H.PROVIDER}"

[provider.{H.PROVIDER}]
ca_cert = "{pki.inter_file}"
ca_key = "{pki.inter_key_file}"
root_cert = "{pki.root_file}"
key_type = "ec256"
days = 90

[install]
root = "{box.root}"
targets = ["harbor", "docker", "os-trust"]
verify = {"true" if verify else "false"}
connect = "127.0.0.1:{port}"
verify_timeout = 20
""",
        encoding="utf-8",
    )
    return path


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, S.describe(result)
    assert "Traceback" not in result.stderr, S.describe(result)
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@contextmanager
def _tls_server(cert: Path, key: Path) -> Iterator[int]:
    """A one-connection Python TLS server on 127.0.0.1 serving ``cert`` (with its chain)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(15)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(15)
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(15)


def _handshake(port: int, cafile: Path) -> bytes:
    """Connect trusting only ``cafile`` (strict X.509 checks, no partial chains)."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    ctx.verify_flags &= ~ssl.VERIFY_X509_PARTIAL_CHAIN
    with (
        socket.create_connection(("127.0.0.1", port), timeout=15) as raw,
        ctx.wrap_socket(raw, server_hostname=S.HOST) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return der


def _plugins_doc() -> dict[str, Any]:
    return _json(S.run_tlsprov(["plugins", "--json"], S.clean_env()))


@pytest.mark.e2e
def test_installed_plugin_provisions_harbor_end_to_end(
    installed_example: Any, pki: Any, make_sandbox: Any, servers: Any, tmp_path: Path
) -> None:
    # The fresh CLI process finds the provider through the entry point, with its distribution.
    providers = {p["name"]: p for p in _plugins_doc()["providers"]}
    assert providers[H.PROVIDER]["plugin"] == H.PROVIDER
    assert providers[H.PROVIDER]["source"] == f"{H.DIST_NAME} {H.example_version()}"

    box = make_sandbox()
    port = S.free_port()
    config = _config(box, pki, port, verify=False)
    first = _json(box.tlsprov("provision", "--config", str(config), "--json"))
    assert first["issued"] is True and first["changed"] is True, first
    assert first["certificate"]["provider"] == H.PROVIDER
    assert "/data/cert/harbor.test.crt" in first["files"]

    # Harbor's certificate file is leaf + intermediate; clients get the root, never more.
    served = load_certs(box.path("/data/cert/harbor.test.crt").read_bytes())
    assert len(served) == 2 and served[1] == pki.inter
    served[0].verify_directly_issued_by(pki.inter)
    certs_d = box.certs_d(port)
    assert (certs_d / "ca.crt").read_bytes() == H.pem(pki.root)
    anchor = box.path("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt")
    assert anchor.read_bytes() == H.pem(pki.root)
    assert box.records()[:2] == [["update-ca-certificates"], ["prepare"]]

    # A real handshake: server = the installed files, client trusts only certs.d's ca.crt.
    key = box.path("/data/cert/harbor.test.key")
    with _tls_server(box.path("/data/cert/harbor.test.crt"), key) as tls_port:
        assert _handshake(tls_port, certs_d / "ca.crt") == served[0].public_bytes(Encoding.DER)
    # Negative control: without the intermediate the same client must refuse the server.
    leaf_only = tmp_path / "leaf-only.crt"
    leaf_only.write_bytes(split_pem(box.path("/data/cert/harbor.test.crt").read_bytes())[0])
    with _tls_server(leaf_only, key) as tls_port, pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls_port, certs_d / "ca.crt")

    # nginx serves what prepare rendered; skopeo (Go) pushes trusting certs.d; tlsprov verifies.
    nginx = servers.nginx(box.harbor / "common/config/nginx/nginx.conf", port)
    pushed = servers.skopeo.push(port, cert_dir=certs_d, repo="example/push")
    assert pushed.returncode == 0, pushed.stderr + nginx.error_log()
    assert S.registry_tags(servers.registry, "example/push") == ["v1"]
    config = _config(box, pki, port, verify=True)
    second = _json(box.tlsprov("provision", "--config", str(config), "--json"))
    assert second["issued"] is False and second["verified"] is True, second
    status = _json(box.tlsprov("status", "--config", str(config), "--json"))
    assert [c["provider"] for c in status["certificates"]] == [H.PROVIDER]

    # Uninstalled, the provider is gone; a config naming it fails in one line, changing nothing.
    installed_example.uninstall()
    names = sorted(p["name"] for p in _plugins_doc()["providers"])
    assert H.PROVIDER not in names
    fresh = make_sandbox()
    config = _config(fresh, pki, port, verify=False)
    before = fresh.snapshot(state=False)  # as in tests/e2e: tlsprov's own lock is left out
    failed = fresh.tlsprov("provision", "--config", str(config), "--json")
    assert failed.returncode == 2, S.describe(failed)
    assert failed.stderr.strip().splitlines() == [
        f"tlsprov: error: unknown provider '{H.PROVIDER}'; choose one of: {', '.join(names)}"
    ], S.describe(failed)
    assert fresh.snapshot(state=False) == before
