"""The bundle check of a fresh bundle uses what was just made, and still catches every mix-up."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import tlsprov
from tlsprov.errors import IssuanceError, LintError
from tlsprov.pki.bundlecheck import check_bundle
from tlsprov.pki.made import provenance, recall, remember
from tlsprov.pki.x509 import load_cert, make_request


def _provider(folder: Path) -> Any:
    return tlsprov.get_provider("selfsigned", ca_dir=folder, key_type="ec256")


def test_a_pem_is_recalled_only_as_the_very_object_that_was_made() -> None:
    pem = b"-----BEGIN X-----\nAAAA\n-----END X-----\n"
    thing = object()
    assert remember(pem, thing) is pem
    assert recall(pem) is thing
    assert recall(bytes(bytearray(pem))) is None  # equal bytes from elsewhere: parsed as before


def test_made_bundles_pass_and_copies_of_them_pass_the_parsing_way(tmp_path: Path) -> None:
    provider = _provider(tmp_path / "ca")
    for name in ("one.harbor.test", "two.harbor.test"):  # builder, then template
        bundle = provider.issue(make_request([name, "127.0.0.1"]))
        copy = dataclasses.replace(
            bundle,
            private_key_pem=bytes(bytearray(bundle.private_key_pem)),
            leaf_pem=bytes(bytearray(bundle.leaf_pem)),
        )
        assert recall(copy.leaf_pem) is None
        assert provenance(load_cert(copy.leaf_pem)) is None
        assert check_bundle(bundle, host=name, alt_names=["127.0.0.1"]) == []
        assert check_bundle(copy, host=name, alt_names=["127.0.0.1"]) == []


def test_a_key_from_another_made_bundle_is_refused(tmp_path: Path) -> None:
    provider = _provider(tmp_path / "ca")
    first = provider.issue(make_request(["a.harbor.test"]))
    second = provider.issue(make_request(["b.harbor.test"]))
    mixed = dataclasses.replace(second, private_key_pem=first.private_key_pem)
    with pytest.raises(LintError, match="private key does not match"):
        check_bundle(mixed, host="b.harbor.test")


def test_a_made_leaf_with_another_ca_is_refused(tmp_path: Path) -> None:
    ours = _provider(tmp_path / "ours").issue(make_request(["harbor.test"]))
    ours = _provider(tmp_path / "ours").issue(make_request(["harbor.test"]))  # template-made
    other = _provider(tmp_path / "other").issue(make_request(["harbor.test"]))
    assert provenance(load_cert(ours.leaf_pem)) is None  # a parsed copy knows nothing
    wrong_ca = dataclasses.replace(ours, ca_pem=other.ca_pem)
    with pytest.raises(LintError, match="not signed by"):
        check_bundle(wrong_ca, host="harbor.test")


def test_a_made_leaf_for_other_names_is_refused_by_the_provider_check(tmp_path: Path) -> None:
    provider = _provider(tmp_path / "ca")
    provider.issue(make_request(["first.harbor.test"]))
    made = provider.issue(make_request(["made.harbor.test"]))
    with pytest.raises(IssuanceError, match="not in the certificate's subjectAltName"):
        provider.check(made, make_request(["other.harbor.test"]))
