"""Bundle validation before anything is installed: each bad bundle is refused with a clear
reason, and plan_install refuses it before any file is touched."""

from __future__ import annotations

import datetime as dt

import pytest

from tlsprov.errors import InputError, LintError
from tlsprov.install.engine import apply_install, plan_install
from tlsprov.models import IssuedBundle
from tlsprov.pki.bundlecheck import check_bundle, check_client_bundle
from tlsprov.testing import tree_snapshot


def _swap(bundle: IssuedBundle, **changes: object) -> IssuedBundle:
    fields = {
        "private_key_pem": bundle.private_key_pem,
        "leaf_pem": bundle.leaf_pem,
        "chain_pem": bundle.chain_pem,
        "ca_pem": bundle.ca_pem,
    }
    fields.update(changes)
    return IssuedBundle(**fields)  # type: ignore[arg-type]


def test_good_bundle_passes_without_warnings(ca):
    bundle = ca.bundle(["harbor.test", "reg.test", "127.0.0.1", "::1"])
    assert (
        check_bundle(bundle, host="harbor.test", alt_names=["reg.test", "127.0.0.1", "::1"]) == []
    )
    assert check_bundle(bundle, host="127.0.0.1") == []


def test_wildcard_covers_one_label(ca):
    bundle = ca.bundle(["*.example.test"])
    assert check_bundle(bundle, host="harbor.example.test") == []
    with pytest.raises(LintError):
        check_bundle(bundle, host="a.b.example.test")


def test_chain_through_an_intermediate(ca):
    inter = ca.intermediate()
    bundle = inter.bundle(["harbor.test"], chain=[inter], ca_pem=ca.pem)
    assert check_bundle(bundle, host="harbor.test") == []
    # The CA may also be the last element of the chain.
    with_root = inter.bundle(["harbor.test"], chain=[inter, ca], ca_pem=ca.pem)
    assert check_bundle(with_root, host="harbor.test") == []
    # An intermediate missing from the chain breaks it.
    broken = inter.bundle(["harbor.test"], ca_pem=ca.pem)
    with pytest.raises(LintError, match="not signed by"):
        check_bundle(broken, host="harbor.test")


def test_absent_eku_is_accepted_with_a_warning(ca):
    bundle = ca.bundle(["harbor.test"], eku=None)
    warnings = check_bundle(bundle, host="harbor.test")
    assert any("no extendedKeyUsage" in w for w in warnings)


def _problems(bundle: IssuedBundle, host: str = "harbor.test", **kw: object) -> str:
    with pytest.raises(LintError) as info:
        check_bundle(bundle, host=host, **kw)  # type: ignore[arg-type]
    assert info.value.exit_code == 2
    assert info.value.hint
    return "; ".join(info.value.problems)


def test_refusals(ca, kit):
    pki = kit.pki
    other_ca = pki.TestCA("another CA")
    good = ca.bundle(["harbor.test", "127.0.0.1"])
    other_key, _ = ca.leaf(["harbor.test"])
    now = pki.now()

    assert "private key does not match" in _problems(
        _swap(good, private_key_pem=pki.key_pem(other_key))
    )
    assert "not signed by" in _problems(_swap(good, ca_pem=other_ca.pem))
    assert "expired" in _problems(
        ca.bundle(
            ["harbor.test"],
            not_before=now - dt.timedelta(days=10),
            not_after=now - dt.timedelta(days=1),
        )
    )
    assert "not valid before" in _problems(
        ca.bundle(["harbor.test"], not_before=now + dt.timedelta(days=1))
    )
    assert "harbor.test" in _problems(ca.bundle(["other.test"]))
    assert "no subjectAltName" in _problems(ca.bundle(["harbor.test"], san=False))
    assert "serverAuth" in _problems(ca.bundle(["harbor.test"], eku=[pki.CLIENT_AUTH]))
    assert "IP SAN" in _problems(ca.bundle(["harbor.test"], cn="127.0.0.1"), host="127.0.0.1")
    assert "CN" in _problems(ca.bundle(["harbor.test"], cn="tlsprov test CA"))
    assert "reg.test" in _problems(good, alt_names=["reg.test"])
    assert "10.0.0.1" not in _problems(good, alt_names=["::1"])  # only what is missing


def test_every_problem_is_listed_at_once(ca, kit):
    now = kit.pki.now()
    bundle = ca.bundle(
        ["other.test"],
        eku=[kit.pki.CLIENT_AUTH],
        not_before=now - dt.timedelta(days=5),
        not_after=now - dt.timedelta(days=1),
    )
    text = _problems(bundle)
    assert "expired" in text and "serverAuth" in text and "harbor.test" in text


def test_malformed_pem_is_an_input_error(ca):
    good = ca.bundle(["harbor.test"])
    with pytest.raises(InputError):
        check_bundle(_swap(good, leaf_pem=b"garbage"), host="harbor.test")
    with pytest.raises(InputError):
        check_bundle(good, host="not a host!")


def test_client_bundle_checks(ca, kit):
    client = ca.bundle(["robot"], eku=[kit.pki.CLIENT_AUTH])
    assert check_client_bundle(client) == []
    with pytest.raises(LintError, match="clientAuth"):
        check_client_bundle(ca.bundle(["robot"]))


@pytest.mark.parametrize("problem", ["mismatched-key", "wrong-ca", "cn-only", "no-server-auth"])
def test_plan_install_refuses_before_writing(
    ca, kit, context, demo_registry, recorder, state_dir, root, problem
):
    pki = kit.pki
    good = ca.bundle(["harbor.test"])
    bad = {
        "mismatched-key": lambda: _swap(good, private_key_pem=pki.key_pem(ca.leaf()[0])),
        "wrong-ca": lambda: _swap(good, ca_pem=pki.TestCA("stranger").pem),
        "cn-only": lambda: ca.bundle(["harbor.test"], san=False),
        "no-server-auth": lambda: ca.bundle(["harbor.test"], eku=[pki.CLIENT_AUTH]),
    }[problem]()
    before = tree_snapshot(root)
    with pytest.raises(LintError):
        plan = plan_install(bad, context, ["demo"], registry=demo_registry)
        apply_install(plan, state_dir=state_dir, runner=recorder.runner())
    assert tree_snapshot(root) == before
    assert not state_dir.exists()
    assert recorder.calls() == []
