"""The ACME account: stored once (0600) and reused, terms of service, EAB, option checks."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tlsprov
from tlsprov_letsencrypt._options import ALIASES, AcmeOptions


def test_account_is_registered_once_and_reused(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="tlsprov")
    opts = acme_options()
    first = tlsprov.get_provider("letsencrypt", **opts)
    first.issue(tlsprov.make_request(["account-one.test"]))
    assert first.impl.account_registered is True
    folder = tmp_path / "account"
    key_bytes = (folder / "account.key").read_bytes()
    regr = json.loads((folder / "account.json").read_text())
    assert regr["uri"].startswith(opts["directory"].rsplit("/", 1)[0])
    for name in ("account.key", "account.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600

    second = tlsprov.get_provider("letsencrypt", **opts)
    second.issue(tlsprov.make_request(["account-two.test"]))
    assert second.impl.account_registered is False
    assert (folder / "account.key").read_bytes() == key_bytes
    assert json.loads((folder / "account.json").read_text())["uri"] == regr["uri"]
    assert caplog.text.count("registered a new ACME account") == 1


def test_terms_of_service_must_be_agreed(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    opts = acme_options(agree_tos=False)
    with pytest.raises(tlsprov.ConfigError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["tos.test"]))
    line = info.value.one_line()
    assert "terms of service must be agreed to first: data:text/plain," in line
    assert "--agree-tos" in line
    assert not (tmp_path / "account").exists()


EAB_KID = "kid-1"
EAB_HMAC = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
WRONG_HMAC = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH"


@pytest.fixture
def eab_pebble(pebble_factory: Callable[..., Any]) -> Any:
    """A Pebble that requires external account binding, knowing one key id."""
    return pebble_factory(
        config={
            "externalAccountBindingRequired": True,
            "externalAccountMACKeys": {EAB_KID: EAB_HMAC},
        }
    )


def test_eab_binds_the_account(
    eab_pebble: Any, acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    opts = acme_options(eab_pebble, eab_kid=EAB_KID, eab_hmac_key=EAB_HMAC)
    provider = tlsprov.get_provider("letsencrypt", **opts)
    bundle = provider.issue(tlsprov.make_request(["eab.test"]))
    assert provider.impl.account_registered is True
    assert b"BEGIN CERTIFICATE" in bundle.leaf_pem
    assert EAB_HMAC not in repr(provider.impl.options)


def test_eab_required_but_missing(
    eab_pebble: Any, acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    with pytest.raises(tlsprov.ConfigError, match="requires an external account binding"):
        tlsprov.get_provider("letsencrypt", **acme_options(eab_pebble)).issue(
            tlsprov.make_request(["eab.test"])
        )
    assert not (tmp_path / "account").exists()


def test_eab_wrong_hmac_fails_clearly(
    eab_pebble: Any, acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    opts = acme_options(eab_pebble, eab_kid=EAB_KID, eab_hmac_key={"env": "TLSPROV_TEST_EAB"})
    import os

    os.environ["TLSPROV_TEST_EAB"] = WRONG_HMAC
    try:
        with pytest.raises(tlsprov.ConfigError) as info:
            tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["eab.test"]))
    finally:
        del os.environ["TLSPROV_TEST_EAB"]
    line = info.value.one_line()
    assert "the CA refused the external account binding" in line
    assert "eab_hmac_key" in line
    assert WRONG_HMAC not in line
    assert "\n" not in line
    assert not (tmp_path / "account").exists()


def test_unknown_option_lists_the_allowed_ones() -> None:
    with pytest.raises(tlsprov.ConfigError) as info:
        tlsprov.get_provider("letsencrypt", directory="letsencrypt", chalenge="dns-01")
    line = info.value.one_line()
    assert "chalenge" in line and "allowed options:" in line and "challenge" in line


def test_directory_is_required_and_aliases_resolve(tmp_path: Path) -> None:
    with pytest.raises(tlsprov.ConfigError, match="directory: is required"):
        AcmeOptions.parse({})
    staging = AcmeOptions.parse({"directory": "letsencrypt-staging"})
    assert staging.directory == ALIASES["letsencrypt-staging"]
    assert "staging" in staging.directory
    assert AcmeOptions.parse({"directory": "letsencrypt"}).directory == ALIASES["letsencrypt"]
    with pytest.raises(tlsprov.ConfigError, match="neither an alias nor an https URL"):
        AcmeOptions.parse({"directory": "http://127.0.0.1/dir"})
    parsed = AcmeOptions.parse(
        {"directory": "https://127.0.0.1:14000/dir", "state_dir": str(tmp_path)}
    )
    assert parsed.account_dir == tmp_path / "acme" / "127.0.0.1_14000"
    assert parsed.email is None
    assert parsed.http_address == "::" and parsed.http_port == 80


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"challenge": "tls-alpn-01"}, "challenge"),
        ({"challenge": "dns-01"}, "exactly one of dns_hook, rfc2136_server or lexicon_provider"),
        ({"rfc2136_server": "127.0.0.1:53", "challenge": "dns-01"}, "TSIG"),
        ({"eab_kid": "k"}, "needs both eab_kid and eab_hmac_key"),
        ({"eab_kid": "k", "eab_hmac_key": "x", "eab_alg": "HS1"}, "eab_alg"),
        ({"account_key_type": "ed25519"}, "not accepted"),
        ({"http_address": "localhost"}, "not an IP address"),
        ({"http_port": 70000}, "not a port number"),
        ({"agree_tos": "yes"}, "true or false"),
        ({"email": "nobody"}, "not an e-mail address"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], text: str) -> None:
    with pytest.raises(tlsprov.ConfigError, match=text):
        AcmeOptions.parse({"directory": "letsencrypt-staging", **options})


def test_importing_the_plugin_does_not_load_acme() -> None:
    code = (
        "import sys, tlsprov_letsencrypt, tlsprov; "
        "tlsprov.Registry().providers(); "
        "heavy = [m for m in ('acme', 'josepy', 'requests', 'dns') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""


def test_ec384_account_signs_with_es384(acme_options: Callable[..., dict[str, Any]]) -> None:
    opts = acme_options(account_key_type="ec384", key_type="ec384")
    provider = tlsprov.get_provider("letsencrypt", **opts)
    request = tlsprov.make_request(["p384.test"], key_type="ec384")
    from tlsprov.testing import check_provider_conformance

    check_provider_conformance(provider, request)
    assert provider.impl.account_registered is True
