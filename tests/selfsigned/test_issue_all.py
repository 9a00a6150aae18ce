"""Sets of certificates in one call: RSA keys generated side by side, every bundle still checked."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

import tlsprov
from tlsprov.errors import IssuanceError
from tlsprov.models import CertificateRequest, IssuedBundle, KeyType, Usage
from tlsprov.pki import keygen
from tlsprov.pki.x509 import key_matches_cert, load_cert, load_private_key, make_request
from tlsprov.plugins.loader import load_plugins
from tlsprov.plugins.managed import ManagedProvider, issue_each

WAIT = 30  # seconds a key generation waits for its sibling before the test fails


def _recording(monkeypatch: pytest.MonkeyPatch, *, barrier: threading.Barrier | None) -> list[str]:
    """Wrap keygen's generate_key: record each call's thread; RSA calls meet at ``barrier``."""
    seen: list[str] = []
    real = keygen.generate_key

    def generate(key_type: KeyType) -> Any:
        seen.append(threading.current_thread().name)
        if barrier is not None and key_type.is_rsa:
            barrier.wait()  # BrokenBarrierError after WAIT unless two run at the same time
        return real(key_type)

    monkeypatch.setattr(keygen, "generate_key", generate)
    return seen


def test_keys_come_back_in_order_with_the_asked_types() -> None:
    kinds = [KeyType.EC256, KeyType.RSA2048, KeyType.ED25519, KeyType.RSA2048, KeyType.EC384]
    keys = keygen.generate_keys(kinds)
    assert len(keys) == len(kinds)
    assert isinstance(keys[0], ec.EllipticCurvePrivateKey) and keys[0].curve.name == "secp256r1"
    assert isinstance(keys[1], rsa.RSAPrivateKey) and keys[1].key_size == 2048
    assert isinstance(keys[2], ed25519.Ed25519PrivateKey)
    assert isinstance(keys[3], rsa.RSAPrivateKey) and keys[3].key_size == 2048
    assert keys[1].private_numbers() != keys[3].private_numbers()
    assert isinstance(keys[4], ec.EllipticCurvePrivateKey) and keys[4].curve.name == "secp384r1"
    assert keygen.generate_keys([]) == []


def test_two_rsa_keys_are_generated_at_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keygen, "usable_cpus", lambda: 2)
    seen = _recording(monkeypatch, barrier=threading.Barrier(2, timeout=WAIT))
    keys = keygen.generate_keys([KeyType.RSA2048, KeyType.EC256, KeyType.RSA2048])
    assert len(keys) == 3
    here = threading.current_thread().name
    rsa_threads = [name for name in seen if name != here]
    assert len(rsa_threads) == 2 and all(n.startswith("tlsprov-keygen") for n in rsa_threads)
    assert seen.count(here) == 1  # the EC key: made in the calling thread


def test_one_cpu_or_one_rsa_key_stays_in_the_calling_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    here = threading.current_thread().name
    monkeypatch.setattr(keygen, "usable_cpus", lambda: 1)
    seen = _recording(monkeypatch, barrier=None)
    keygen.generate_keys([KeyType.RSA2048, KeyType.RSA2048])
    monkeypatch.setattr(keygen, "usable_cpus", lambda: 4)
    keygen.generate_keys([KeyType.RSA2048, KeyType.EC256])
    assert seen == [here] * 4


def _requests() -> list[CertificateRequest]:
    return [
        make_request(["core.harbor.test", "127.0.0.1"], key_type=KeyType.RSA2048),
        make_request(["client.harbor.test"], key_type=KeyType.EC256, usage=Usage.CLIENT),
        make_request(["registry.harbor.test", "::1"], key_type=KeyType.RSA2048),
        make_request(["db.harbor.test"]),  # the provider's default (ec256 here)
    ]


def test_a_mixed_set_gives_each_request_its_own_checked_bundle(tmp_path: Path) -> None:
    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    requests = _requests()
    bundles = provider.issue_all(requests)
    assert len(bundles) == len(requests)
    sizes = []
    for request, bundle in zip(requests, bundles, strict=True):
        cert = load_cert(bundle.leaf_pem)
        key = load_private_key(bundle.private_key_pem)
        assert key_matches_cert(key, cert)  # no key went to another request's certificate
        assert cert.subject.rfc4514_string() == f"CN={request.primary_name}"
        sizes.append(getattr(key, "key_size", None))
        assert bundle.ca_pem == bundles[0].ca_pem
    assert sizes == [2048, 256, 2048, 256]
    assert provider.issue_all([]) == []


def test_a_provider_without_issue_all_is_asked_once_per_request(tmp_path: Path) -> None:
    inner = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    asked: list[str] = []

    class OneByOne:
        def issue(self, request: CertificateRequest) -> IssuedBundle:
            asked.append(request.primary_name)
            return inner.issue(request)

    requests = _requests()
    bundles = issue_each(OneByOne(), requests)
    assert asked == [r.primary_name for r in requests]
    managed = ManagedProvider(
        "one-by-one", OneByOne(), load_plugins(entry_points=False, environ={}),
        plugin="one-by-one", source="tests (in process)",
    )  # fmt: skip
    assert len(managed.issue_all(requests)) == len(bundles) == 4
    assert asked == [r.primary_name for r in requests] * 2


class _Wrong:
    """issue_all that drops a bundle or swaps two keys."""

    def __init__(self, inner: Any, mode: str) -> None:
        self.inner, self.mode = inner, mode

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        raise AssertionError("issue_all should have been used")

    def issue_all(self, requests: list[CertificateRequest]) -> list[IssuedBundle]:
        bundles = list(self.inner.issue_all(requests))
        if self.mode == "short":
            return bundles[:-1]
        first, second = bundles[0], bundles[2]
        bundles[0] = dataclasses.replace(first, private_key_pem=second.private_key_pem)
        bundles[2] = dataclasses.replace(second, private_key_pem=first.private_key_pem)
        return bundles


@pytest.mark.parametrize(
    ("mode", "message"),
    [("short", "returned 3 bundles for 4 requests"), ("swap", "private key does not match")],
)
def test_a_wrong_set_is_refused_naming_the_provider(
    tmp_path: Path, mode: str, message: str
) -> None:
    inner = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    managed = ManagedProvider(
        "wrong", _Wrong(inner.impl, mode), load_plugins(entry_points=False, environ={}),
        plugin="wrong", source="tlsprov-wrong 0.1",
    )  # fmt: skip
    with pytest.raises(IssuanceError, match=message) as info:
        managed.issue_all(_requests())
    assert "provider 'wrong' (tlsprov-wrong 0.1)" in info.value.one_line()
