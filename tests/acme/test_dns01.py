"""dns-01 through the exec hook against challtestsrv's TXT records, wildcards included."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

import tlsprov
from tlsprov.testing import check_provider_conformance, tree_snapshot


def _dns_options(
    acme_options: Callable[..., dict[str, Any]], hook: Path, challtestsrv: Any, **extra: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "challenge": "dns-01",
        "dns_hook": str(hook),
        "dns_resolver": f"127.0.0.1:{challtestsrv.dns_port}",
        "dns_propagation_timeout": 10,
    }
    return acme_options(**{**base, **extra})


def test_wildcard_and_base_name_through_hook(
    acme_options: Callable[..., dict[str, Any]],
    dns_hook: Path,
    challtestsrv: Any,
    tmp_path: Path,
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="tlsprov")
    opts = _dns_options(acme_options, dns_hook, challtestsrv)
    provider = tlsprov.get_provider("letsencrypt", **opts)
    request = tlsprov.make_request(["*.wild.test", "wild.test"])
    bundle = check_provider_conformance(provider, request)
    leaf = x509.load_pem_x509_certificate(bundle.leaf_pem)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["*.wild.test", "wild.test"]
    calls = (tmp_path / "hook.log").read_text().splitlines()
    assert calls.count("add _acme-challenge.wild.test") == 2
    assert calls.count("remove _acme-challenge.wild.test") == 2
    assert calls.index("remove _acme-challenge.wild.test") > max(
        i for i, c in enumerate(calls) if c.startswith("add")
    )
    assert "waiting for the CA to validate *.wild.test (dns-01)" in caplog.text


def test_record_that_never_appears_times_out_clearly(
    acme_options: Callable[..., dict[str, Any]], challtestsrv: Any, tmp_path: Path
) -> None:
    silent = tmp_path / "silent-hook"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    opts = _dns_options(acme_options, silent, challtestsrv, dns_propagation_timeout=0.5)
    with pytest.raises(tlsprov.IssuanceError) as info:
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["quiet.test"]))
    line = info.value.one_line()
    assert "_acme-challenge.quiet.test did not appear" in line
    assert "dns_propagation_timeout" in line


def test_failed_challenge_names_the_domain_and_writes_nothing(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    """A hook that publishes nothing and no propagation check: the CA's validation fails."""
    silent = tmp_path / "silent-hook"
    silent.write_text("#!/bin/sh\nexit 0\n")
    silent.chmod(0o755)
    before = tree_snapshot(tmp_path)
    opts = acme_options(challenge="dns-01", dns_hook=str(silent))
    provider = tlsprov.get_provider("letsencrypt", **opts)
    with pytest.raises(tlsprov.ChallengeFailed) as info:
        provider.issue(tlsprov.make_request(["nochallenge.test"]))
    assert info.value.identities == ("nochallenge.test",)
    line = info.value.one_line()
    assert line.startswith("the CA could not validate nochallenge.test:")
    assert "\n" not in line
    after = tree_snapshot(tmp_path)
    new = sorted(set(after) - set(before))
    assert all(p.startswith("account") for p in new), new


def test_dns01_refuses_ip_addresses(tmp_path: Path) -> None:
    opts = {
        "directory": "https://127.0.0.1:9/dir",
        "account_dir": str(tmp_path / "a"),
        "challenge": "dns-01",
        "dns_hook": "/bin/true",
    }
    with pytest.raises(tlsprov.InputError, match="IP addresses cannot be validated with dns-01"):
        tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["127.0.0.1"]))
