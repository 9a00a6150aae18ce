"""Hook behaviour with in-process plugins on a fresh plugin manager (no entry points)."""

from __future__ import annotations

from typing import Any

import pytest
import tlsprov_test_good

import tlsprov
from tlsprov.errors import PluginError, PolicyError, ProviderConflict, ProviderNotFound
from tlsprov.models import CertificateRequest, IssuedBundle
from tlsprov.plugins.loader import LoadedPlugins, load_plugins
from tlsprov.plugins.registry import Registry
from tlsprov.plugins.specs import ProviderSpec
from tlsprov.testing import registry_with


class NoWildcards:
    """Vetoes wildcard names; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[tuple[str, ...], str]] = []

    @tlsprov.hookimpl
    def tlsprov_check_request(self, request: CertificateRequest, provider: str) -> None:
        self.seen.append((request.dns_names, provider))
        if any(n.startswith("*.") for n in request.dns_names):
            raise PolicyError("wildcards are not allowed here", hint="list each name")


class Audit:
    """Observes issued bundles."""

    def __init__(self) -> None:
        self.issued: list[tuple[IssuedBundle, str]] = []

    @tlsprov.hookimpl
    def tlsprov_bundle_issued(self, bundle: IssuedBundle, provider: str) -> None:
        self.issued.append((bundle, provider))


@pytest.fixture
def loaded() -> LoadedPlugins:
    """A plugin manager without any installed plugin, holding the test-good plugin module."""
    plugins = load_plugins(entry_points=False, environ={})
    plugins.register(tlsprov_test_good, name="good", source="tlsprov-test-good (in process)")
    return plugins


def test_fresh_manager_sees_only_what_was_registered(loaded: LoadedPlugins) -> None:
    reg = Registry(loaded)
    assert list(reg.providers()) == ["test-good"]
    assert reg.providers()["test-good"].source == "tlsprov-test-good (in process)"
    with pytest.raises(ProviderNotFound, match=r"choose one of: test-good$"):
        reg.get_provider("selfsigned")


def test_check_request_can_veto_before_issuing(loaded: LoadedPlugins) -> None:
    veto, audit = NoWildcards(), Audit()
    loaded.register(veto, name="no-wildcards")
    loaded.register(audit, name="audit")
    provider = Registry(loaded).get_provider("test-good")
    with pytest.raises(PolicyError) as info:
        provider.issue(tlsprov.make_request(["*.harbor.test"]))
    assert info.value.one_line() == "wildcards are not allowed here; list each name"
    assert info.value.exit_code == 2
    assert veto.seen == [(("*.harbor.test",), "test-good")]
    assert audit.issued == []  # nothing was issued

    bundle = provider.issue(tlsprov.make_request(["harbor.test"]))
    assert veto.seen[-1] == (("harbor.test",), "test-good")
    assert audit.issued == [(bundle, "test-good")]


def test_bundle_issued_observes_every_issuance() -> None:
    audit = Audit()
    reg = registry_with(tlsprov_test_good, audit)
    provider = reg.get_provider("test-good")
    first = provider.issue(tlsprov.make_request(["a.test"]))
    second = provider.issue(tlsprov.make_request(["b.test", "::1"]))
    assert [(b.leaf_pem, p) for b, p in audit.issued] == [
        (first.leaf_pem, "test-good"),
        (second.leaf_pem, "test-good"),
    ]


def test_non_provider_spec_is_rejected_naming_the_plugin(loaded: LoadedPlugins) -> None:
    class Sloppy:
        @tlsprov.hookimpl
        def tlsprov_register_providers(self) -> list[Any]:
            return [{"name": "sloppy"}]

    loaded.register(Sloppy(), name="sloppy-plugin", source="sloppy-dist 1.2")
    with pytest.raises(PluginError) as info:
        Registry(loaded).providers()
    message = str(info.value)
    assert "plugin 'sloppy-plugin' (sloppy-dist 1.2)" in message
    assert "returned dict from tlsprov_register_providers; expected ProviderSpec" in message


def test_failing_register_hook_is_reported_naming_the_plugin(loaded: LoadedPlugins) -> None:
    class Crashing:
        @tlsprov.hookimpl
        def tlsprov_register_targets(self) -> list[Any]:
            raise RuntimeError("boom")

    loaded.register(Crashing(), name="crashing")
    with pytest.raises(PluginError, match=r"plugin 'crashing' .* RuntimeError: boom"):
        Registry(loaded).targets()


def test_inline_provider_clash_names_both(loaded: LoadedPlugins) -> None:
    class Copycat:
        @tlsprov.hookimpl
        def tlsprov_register_providers(self) -> list[ProviderSpec]:
            return [ProviderSpec(name="test-good", factory=lambda options: None)]

    loaded.register(Copycat(), name="copycat")
    reg = Registry(loaded)
    assert "test-good" not in reg.providers()
    with pytest.raises(ProviderConflict) as info:
        reg.get_provider("test-good")
    assert sorted(info.value.sources) == [
        "copycat (<registered>)",
        "good (tlsprov-test-good (in process))",
    ]


def test_factory_without_issue_method_is_rejected() -> None:
    class Hollow:
        @tlsprov.hookimpl
        def tlsprov_register_providers(self) -> list[ProviderSpec]:
            return [ProviderSpec(name="hollow", factory=lambda options: object())]

    with pytest.raises(PluginError, match=r"provider 'hollow' .* has no issue"):
        registry_with(Hollow()).get_provider("hollow")


def test_misspelled_hook_is_refused_at_registration() -> None:
    class Typo:
        @tlsprov.hookimpl
        def tlsprov_register_provider(self) -> list[ProviderSpec]:
            return []

    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        registry_with(Typo())
