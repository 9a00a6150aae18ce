"""Fixtures for the conformance suite: real verifiers against every kind of certificate.

The e2e servers (docker-registry, nginx, skopeo) and the ACME harness (Pebble) are loaded by
path and reused as they are (pytest runs with ``--import-mode=importlib``). Certificates are
issued once per session: one CA per key family (a shared RSA-4096 CA for the RSA leaves), a
server and a client certificate per key type, and one certificate from Pebble.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


E2E = _load("tlsprov_conformance_e2e_harness", REPO / "tests" / "e2e" / "conftest.py")
ACME = _load("tlsprov_conformance_acme_harness", REPO / "tests" / "acme" / "conftest.py")
S = sys.modules["tlsprov_e2e_support"]

# Reused fixtures: the session registry, per-test nginx, session skopeo, the session Pebble.
registry = E2E.registry
nginx = E2E.nginx
skopeo = E2E.skopeo
_fakes_executable = E2E._fakes_executable
listener = ACME.listener
challtestsrv = ACME.challtestsrv
pebble = ACME.pebble

KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ec256", "ec384", "ed25519")
SERVER_NAMES = ("harbor.test", "registry.harbor.test", "127.0.0.1", "::1")
CLIENT_NAME = "robot.harbor.test"


def ca_family(key_type: str) -> str:
    """The CA key type issuing ``key_type`` leaves: one RSA-4096 CA serves every RSA leaf."""
    return "rsa4096" if key_type.startswith("rsa") else key_type


@dataclass(frozen=True)
class Kind:
    """One issued certificate on disk: ``<name>.key``, ``<name>.crt`` (leaf + chain), ca.crt."""

    label: str
    folder: Path
    name: str
    chain: tuple[bytes, ...] = ()

    @property
    def key(self) -> Path:
        return self.folder / f"{self.name}.key"

    @property
    def crt(self) -> Path:
        return self.folder / f"{self.name}.crt"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def leaf_pem(self) -> bytes:
        return self.crt.read_bytes().split(b"-----END CERTIFICATE-----")[0] + (
            b"-----END CERTIFICATE-----\n"
        )


@pytest.fixture(scope="session")
def issue_kind(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Kind]:
    """``issue_kind(key_type, usage)`` → a :class:`Kind`, issued once per session."""
    import tlsprov
    from tlsprov.models import Usage
    from tlsprov.pki.bundleio import write_bundle

    base = tmp_path_factory.mktemp("conformance")
    cache: dict[tuple[str, str], Kind] = {}

    def issue(key_type: str, usage: str) -> Kind:
        if (key_type, usage) in cache:
            return cache[(key_type, usage)]
        family = ca_family(key_type)
        provider = tlsprov.get_provider(
            "selfsigned",
            ca_dir=base / f"ca-{family}",
            key_type=family,
            subject=f"/O=tlsprov conformance/CN=tlsprov {family} Root CA",
        )
        names = SERVER_NAMES if usage == "server" else (CLIENT_NAME,)
        request = tlsprov.make_request(names, usage=Usage(usage), key_type=key_type)
        bundle = provider.issue(request)
        folder = base / f"{usage}-{key_type}"
        write_bundle(folder, request.primary_name, bundle)
        kind = Kind(f"{usage}-{key_type}", folder, request.primary_name, bundle.chain_pem)
        cache[(key_type, usage)] = kind
        return kind

    return issue
