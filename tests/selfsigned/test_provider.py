"""The plugin and its options: entry point, lazy import, ConfigError, secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tlsprov
from tlsprov.errors import ConfigError
from tlsprov.models import KeyType
from tlsprov.pki.x509 import load_private_key, make_request
from tlsprov.plugins.interfaces import CAManager, Provider
from tlsprov.plugins.loader import load_plugins


def test_registered_through_the_entry_point(tmp_path: Path) -> None:
    registry = tlsprov.Registry()
    found = registry.providers()["selfsigned"]
    assert found.plugin == "selfsigned"
    assert found.source.startswith("tlsprov ")
    assert found.spec.description
    provider = registry.get_provider("selfsigned", {"ca_dir": tmp_path / "ca", "key_type": "ec256"})
    assert isinstance(provider.impl, Provider)
    assert isinstance(provider.impl, CAManager)
    bundle = provider.issue(make_request(["harbor.test"]))
    assert bundle.leaf_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_blocked_plugin_is_not_offered() -> None:
    plugins = load_plugins(environ={"TLSPROV_DISABLE_PLUGINS": "selfsigned"})
    assert "selfsigned" not in tlsprov.Registry(plugins).providers()


def test_plugin_module_imports_cheaply() -> None:
    code = (
        "import sys, tlsprov_selfsigned\n"
        "specs = tlsprov_selfsigned.tlsprov_register_providers()\n"
        "assert [s.name for s in specs] == ['selfsigned']\n"
        "print(sorted(m for m in sys.modules if m.startswith('tlsprov_selfsigned')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['tlsprov_selfsigned']"


@pytest.mark.parametrize(
    ("options", "key", "fragment"),
    [
        ({}, "ca_dir", "is required"),
        ({"ca_dir": ""}, "ca_dir", "is required"),
        ({"ca_dir": 3}, "ca_dir", "must be a path"),
        ({"ca_dir": "x", "colour": "red"}, "colour", "unknown option(s) colour"),
        ({"ca_dir": "x", "key_type": "rsa1024"}, "key_type", "unknown key type"),
        ({"ca_dir": "x", "days": 0}, "days", ">= 1"),
        ({"ca_dir": "x", "days": "10"}, "days", ">= 1"),
        ({"ca_dir": "x", "days": True}, "days", ">= 1"),
        ({"ca_dir": "x", "create_ca": "yes"}, "create_ca", "true or false"),
        ({"ca_dir": "x", "force": 1}, "force", "true or false"),
        ({"ca_dir": "x", "subject": "CN=x"}, "subject", "does not start with '/'"),
        ({"ca_dir": "x", "ca_passphrase": ""}, "ca_passphrase", "empty"),
        ({"ca_dir": "x", "ca_passphrase": {"vault": "x"}}, "ca_passphrase", "{env"),
        ({"ca_dir": "x", "ca_passphrase": 42}, "ca_passphrase", "must be a string"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        tlsprov.Registry().get_provider("selfsigned", options)
    assert info.value.key == key
    assert fragment in info.value.message
    assert info.value.exit_code == 2


def test_unknown_option_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigError) as info:
        tlsprov.get_provider("selfsigned", ca_dir="x", colour="red", size=3)
    assert "colour, size" in info.value.message
    assert info.value.hint is not None
    for allowed in ("ca_dir", "subject", "key_type", "days", "ca_passphrase", "create_ca", "force"):
        assert allowed in info.value.hint


def test_options_defaults(tmp_path: Path) -> None:
    impl: Any = tlsprov.get_provider("selfsigned", ca_dir=str(tmp_path)).impl
    options = impl.options
    assert options.ca_dir == tmp_path
    assert options.key_type is KeyType.RSA4096
    assert options.days == 3650
    assert options.subject is None
    assert options.create_ca is True and options.force is False
    assert options.ca_passphrase is None


@pytest.mark.parametrize(
    "secret", ["hunter2-secret", {"env": "HUNTER_VAR"}, {"file": "/nonexistent/hunter2.txt"}]
)
def test_passphrase_never_shown(tmp_path: Path, secret: Any) -> None:
    impl: Any = tlsprov.get_provider("selfsigned", ca_dir=tmp_path, ca_passphrase=secret).impl
    shown = repr(impl) + str(impl) + repr(impl.options) + repr(impl.options.ca_passphrase)
    assert "hunter2-secret" not in shown
    assert "ca_passphrase=set" in repr(impl)
    assert "hunter2-secret" not in str(impl.options.ca_passphrase)


def test_passphrase_file_is_read_lazily(tmp_path: Path) -> None:
    # a missing passphrase file does not matter until the passphrase is needed
    provider = tlsprov.get_provider(
        "selfsigned",
        ca_dir=tmp_path / "ca",
        key_type="ec256",
        ca_passphrase={"file": str(tmp_path / "later.txt")},
    )
    with pytest.raises(ConfigError, match="cannot read the passphrase file"):
        provider.issue(make_request(["harbor.test"]))
    assert not (tmp_path / "ca").exists()
    (tmp_path / "later.txt").write_text("now it exists\r\nsecond line is ignored\n")
    provider.issue(make_request(["harbor.test"]))
    assert provider.impl.ca_created is True  # type: ignore[attr-defined]
    key_pem = (tmp_path / "ca" / "ca.key").read_bytes()
    load_private_key(key_pem, password=b"now it exists")


def test_passes_the_plugin_conformance_check(tmp_path: Path) -> None:
    from tlsprov.testing import check_provider_conformance

    provider = tlsprov.get_provider("selfsigned", ca_dir=tmp_path / "ca", key_type="ec256")
    for usage in (tlsprov.Usage.SERVER, tlsprov.Usage.CLIENT):
        request = make_request(["harbor.test", "127.0.0.1", "::1"], usage=usage, key_type="ec256")
        bundle = check_provider_conformance(provider, request)
        assert bundle.chain_pem == ()
