"""Failures give one clear line and write nothing; retries, ARI, revocation, chains."""

from __future__ import annotations

import logging
import ssl
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

import tlsprov
from tlsprov.testing import free_port, tree_snapshot


def _one_line(exc: tlsprov.TlsprovError) -> str:
    line = exc.one_line()
    assert "\n" not in line and "Traceback" not in line
    return line


def test_blocked_name_is_one_line_naming_it(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    before = tree_snapshot(tmp_path)
    provider = tlsprov.get_provider("letsencrypt", **acme_options())
    with pytest.raises(tlsprov.ChallengeFailed) as info:
        provider.issue(tlsprov.make_request(["www.blocked.test"]))
    line = _one_line(info.value)
    assert "www.blocked.test" in line and "rejectedIdentifier" in line
    new = set(tree_snapshot(tmp_path)) - set(before)
    assert all(p.startswith("account") for p in new), new


def test_server_down_is_one_line(tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{free_port()}/dir"
    opts = {"directory": url, "agree_tos": True, "account_dir": str(tmp_path / "a"), "timeout": 5}
    with pytest.raises(tlsprov.IssuanceError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["down.test"]))
    line = _one_line(info.value)
    assert line.startswith(f"cannot reach the ACME server at {url}")
    assert info.value.__cause__ is not None
    assert not (tmp_path / "a").exists()


def test_untrusted_server_points_at_ca_bundle(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    opts = acme_options()
    del opts["ca_bundle"]
    with pytest.raises(tlsprov.IssuanceError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["tls.test"]))
    assert "--ca-bundle" in _one_line(info.value)
    assert not (tmp_path / "account").exists()


def test_issuance_survives_half_of_all_nonces_rejected(
    pebble_factory: Callable[..., Any], acme_options: Callable[..., dict[str, Any]]
) -> None:
    noisy = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50"})
    provider = tlsprov.get_provider("letsencrypt", **acme_options(noisy))
    for i in range(6):
        bundle = provider.issue(tlsprov.make_request([f"nonce{i}.test"]))
        assert b"BEGIN CERTIFICATE" in bundle.leaf_pem


def test_preferred_chain_by_issuer_name(
    pebble_factory: Callable[..., Any], acme_options: Callable[..., dict[str, Any]]
) -> None:
    server = pebble_factory(env={"PEBBLE_ALTERNATE_ROOTS": "1"})
    ctx = ssl.create_default_context(cafile=str(server.listener.ca))
    roots = []
    for i in (0, 1):
        url = f"https://127.0.0.1:{server.mgmt_port}/roots/{i}"
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            roots.append(x509.load_pem_x509_certificate(resp.read()))
    names = [r.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for r in roots]
    assert names[0] != names[1]
    for root, name in zip(roots, names, strict=True):
        opts = acme_options(server, preferred_chain=name)
        bundle = tlsprov.get_provider("letsencrypt", **opts).issue(
            tlsprov.make_request(["chain.test"])
        )
        top = x509.load_pem_x509_certificate(bundle.chain_pem[-1])
        top.verify_directly_issued_by(root)


def test_root_ca_that_did_not_issue_the_chain_is_refused(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path, listener: Any
) -> None:
    opts = acme_options(root_ca=str(listener.ca))  # a CA, but not pebble's root
    with pytest.raises(tlsprov.InputError, match="did not issue the chain"):
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["root.test"]))


def test_renewal_info_without_ari_is_none(
    acme_options: Callable[..., dict[str, Any]],
) -> None:
    """Pebble 2.4 offers no renewalInfo: the renew-before window applies."""
    provider = tlsprov.get_provider("letsencrypt", **acme_options())
    bundle = provider.issue(tlsprov.make_request(["ari.test"]))
    assert provider.impl.renewal_info(bundle.leaf_pem) is None


def test_revoke_with_account_and_with_certificate_key(
    acme_options: Callable[..., dict[str, Any]], caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="tlsprov")
    provider = tlsprov.get_provider("letsencrypt", **acme_options())
    first = provider.issue(tlsprov.make_request(["revoke1.test"]))
    second = provider.issue(tlsprov.make_request(["revoke2.test"]))
    impl = provider.impl
    with pytest.raises(tlsprov.InputError) as bad:
        impl.revoke(first.leaf_pem, "because")
    assert "choose one of: unspecified, keyCompromise" in _one_line(bad.value)
    impl.revoke(first.leaf_pem, "superseded")
    assert "(superseded)" in caplog.text
    with pytest.raises(tlsprov.IssuanceError) as info:
        impl.revoke(first.leaf_pem, "superseded")
    assert "alreadyRevoked" in _one_line(info.value)
    impl.revoke(second.leaf_pem, "keyCompromise", key_pem=second.private_key_pem)
    with pytest.raises(tlsprov.InputError, match="does not match"):
        impl.revoke(second.leaf_pem, "keyCompromise", key_pem=first.private_key_pem)
