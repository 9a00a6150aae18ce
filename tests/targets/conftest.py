"""Fixtures for the target planners: quick ec256 bundles and a sandbox root."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlsprov.models import InstallContext, IssuedBundle, Plan
from tlsprov.testing import tree_snapshot

HARBOR_DATA = Path(__file__).resolve().parent.parent / "data" / "harbor"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_bundle(*names: str, client: bool = False, eku: bool = True) -> IssuedBundle:
    """A CA-signed ec256 leaf for ``names`` (serverAuth, or clientAuth when ``client``)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Targets Test CA"))
        .issuer_name(_name("Targets Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    )
    if eku:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    leaf = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return IssuedBundle(private_key_pem=key_pem, leaf_pem=_pem(leaf), ca_pem=_pem(ca))


@pytest.fixture(scope="session")
def bundle() -> IssuedBundle:
    """A server bundle for harbor.test."""
    return make_bundle("harbor.test")


@pytest.fixture(scope="session")
def client_bundle() -> IssuedBundle:
    """A clientAuth bundle for mutual TLS."""
    return make_bundle("ci-runner", client=True)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty sandbox root."""
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def ctx(root: Path) -> Callable[..., InstallContext]:
    """Build an InstallContext on the sandbox root (host harbor.test, port 443 by default)."""

    def build(**kwargs: Any) -> InstallContext:
        kwargs.setdefault("host", "harbor.test")
        return InstallContext(root=root, **kwargs)

    return build


def write(root: Path, host_path: str, text: str | bytes, mode: int = 0o644) -> Path:
    """Create ``host_path`` under ``root`` with ``text``."""
    path = root / host_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    path.chmod(mode)
    return path


@pytest.fixture
def harbor_install(root: Path) -> Callable[..., Path]:
    """Lay out ``/opt/harbor`` with harbor.yml (template or http-only), prepare and compose."""

    def build(variant: str = "tmpl", *, trivy: bool = False, prepare: bool = True) -> Path:
        folder = root / "opt" / "harbor"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HARBOR_DATA / f"harbor.yml.{variant}", folder / "harbor.yml")
        (folder / "harbor.yml").chmod(0o640)
        if prepare:
            write(root, "/opt/harbor/prepare", "#!/bin/sh\nexit 0\n", 0o755)
        services = ["log", "registry", "core", "proxy"] + (["trivy-adapter"] if trivy else [])
        compose = "services:\n" + "".join(
            f"  {s}:\n    image: goharbor/{s}:v2.11.0\n" for s in services
        )
        write(root, "/opt/harbor/docker-compose.yml", compose)
        return folder / "harbor.yml"

    return build


@pytest.fixture
def put(root: Path) -> Callable[..., Path]:
    """Write a host file under the sandbox root: ``put("/etc/x", "text", 0o600)``."""
    return lambda host_path, text, mode=0o644: write(root, host_path, text, mode)


@pytest.fixture
def bundle_for() -> Callable[..., IssuedBundle]:
    """The :func:`make_bundle` builder, for tests that need special bundles."""
    return make_bundle


@pytest.fixture
def plan_of(root: Path) -> Callable[..., Plan]:
    """Call ``target.plan(bundle, context)`` and fail if it changed anything under the root."""

    def call(target: Any, bundle: IssuedBundle, context: InstallContext) -> Plan:
        before = tree_snapshot(root)
        try:
            plan: Plan = target.plan(bundle, context)
            return plan
        finally:
            assert tree_snapshot(root) == before, "plan() changed files under the root"

    return call
