"""Fixtures for the CLI tests: run tlsprov in-process or as a subprocess, snapshot folders,
build certificates with chosen flaws for the lint tests."""

from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tlsprov.cli import main
from tlsprov.testing import tree_snapshot

BUNDLED_ENTRY_POINTS = {"selfsigned", "letsencrypt", "builtin-targets"}
TLSPROV = Path(sys.executable).with_name("tlsprov")


@dataclass
class Result:
    """What a CLI run produced."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def _foreign_entry_points() -> str:
    names = {ep.name for ep in md.entry_points(group="tlsprov")}
    return ",".join(sorted(names - BUNDLED_ENTRY_POINTS))


@pytest.fixture(autouse=True)
def only_bundled_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the bundled plugins load, whatever test distributions are installed; no CA from the
    environment leaks in, and the default CA folder lies inside the test's tmp_path."""
    monkeypatch.setenv("TLSPROV_DISABLE_PLUGINS", _foreign_entry_points())
    monkeypatch.delenv("TLSPROV_CA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``tlsprov.cli.main`` in-process; return code, stdout and stderr."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def tlsprov_proc() -> Callable[..., Result]:
    """Run the installed ``tlsprov`` script as a subprocess (real exit codes, real stderr)."""

    def run(*argv: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
        proc = subprocess.run(
            [str(TLSPROV), *[str(a) for a in argv]],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def snapshot(*paths: Path) -> dict[str, Any]:
    """Every path's own lstat mode plus everything below it (see ``tree_snapshot``)."""
    result: dict[str, Any] = {}
    for path in paths:
        own = path.lstat().st_mode if os.path.lexists(path) else None
        result[str(path)] = (own, tree_snapshot(path))
    return result


@pytest.fixture
def tree() -> Callable[..., dict[str, Any]]:
    """``tree(*paths)`` → a snapshot to compare before and after a command."""
    return snapshot


@pytest.fixture
def make_ca(cli: Callable[..., Result], tmp_path: Path) -> Callable[..., Path]:
    """``make_ca(name, *extra_args)`` creates an EC P-256 CA with ``tlsprov ca init``."""

    def create(name: str = "ca", *extra: str) -> Path:
        ca_dir = tmp_path / name
        res = cli("ca", "init", "--ca-dir", ca_dir, "--key-type", "ec256", *extra)
        assert res.code == 0, res.err
        return ca_dir

    return create


@dataclass
class CertFactory:
    """Builds certificates with chosen properties (and flaws) for the lint tests."""

    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    def build(
        self,
        *,
        cn: str | None = "harbor.test",
        sans: list[x509.GeneralName] | None = None,
        ca: bool = False,
        key_usage: x509.KeyUsage | None = None,
        eku: list[x509.ObjectIdentifier] | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        key: Any = None,
        hash_algo: hashes.HashAlgorithm | None = None,
        self_signed: bool = False,
        aki: bool = True,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name if self_signed else self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(minutes=5))
            .not_valid_after(not_after or now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=ca)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if key_usage is not None:
            builder = builder.add_extension(key_usage, critical=True)
        if eku is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        if ca:  # every real CA sets it; strict verifiers require it
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        if not self_signed and aki:  # every real CA sets it; strict verifiers require it
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
        signer = key if self_signed else self.ca_key
        return builder.sign(signer, hash_algo or hashes.SHA256())


def key_usage(**flags: bool) -> x509.KeyUsage:
    """A KeyUsage with the named flags set."""
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    )
    return x509.KeyUsage(
        **{n: flags.get(n, False) for n in names}, encipher_only=False, decipher_only=False
    )


@pytest.fixture(scope="session")
def certs() -> CertFactory:
    """A factory over a throw-away EC CA named 'Lint Test CA'."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lint Test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return CertFactory(ca_key=key, ca_cert=cert)


@pytest.fixture
def ku() -> Callable[..., x509.KeyUsage]:
    """``ku(key_cert_sign=True, ...)`` builds a KeyUsage."""
    return key_usage
