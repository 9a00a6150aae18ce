"""The typed facade over the plugin hooks: names → providers and targets.

This is the only module that calls ``pm.hook``. It validates what plugins hand over, rejects two
plugins claiming one name, and turns unknown names into "choose one of" errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, final

from tlsprov.errors import (
    InputError,
    PluginError,
    PluginLoadError,
    ProviderConflict,
    ProviderNotFound,
    TargetNotFound,
)
from tlsprov.models import CertificateRequest, IssuedBundle
from tlsprov.plugins.interfaces import Provider, Target
from tlsprov.plugins.loader import LoadedPlugins, load_plugins
from tlsprov.plugins.specs import ProviderSpec, TargetSpec

__all__ = ["ManagedProvider", "Registered", "Registry", "default_registry", "get_provider"]

S = TypeVar("S", ProviderSpec, TargetSpec)


@dataclass(frozen=True, slots=True)
class Registered(Generic[S]):
    """A spec with the plugin and distribution that offered it."""

    spec: S
    plugin: str
    source: str


@final
class ManagedProvider:
    """A provider as the host uses it: request policy hooks, result checks, observer hooks."""

    def __init__(self, name: str, impl: Provider, registry: Registry) -> None:
        self.name = name
        self.impl = impl
        self._registry = registry

    def __repr__(self) -> str:
        return f"ManagedProvider(name={self.name!r})"

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        """Run the policy hooks, issue, check the result, and tell the observers."""
        hook = self._registry.plugins.pm.hook
        if hook.tlsprov_check_request.get_hookimpls():  # a bulk run pays nothing when unused
            hook.tlsprov_check_request(request=request, provider=self.name)
        bundle = self.impl.issue(request)
        if not isinstance(bundle, IssuedBundle):
            raise PluginError(
                f"provider '{self.name}' returned {type(bundle).__name__}, not an IssuedBundle",
                hint="report this to the provider plugin's authors",
            )
        if hook.tlsprov_bundle_issued.get_hookimpls():
            hook.tlsprov_bundle_issued(bundle=bundle, provider=self.name)
        return bundle


class Registry:
    """Providers and targets offered by the loaded plugins."""

    def __init__(self, plugins: LoadedPlugins | None = None) -> None:
        self.plugins = plugins if plugins is not None else load_plugins()
        self._providers: dict[str, Registered[ProviderSpec]] | None = None
        self._targets: dict[str, Registered[TargetSpec]] | None = None

    @property
    def load_errors(self) -> list[PluginLoadError]:
        """Plugins that failed to load (the rest still work)."""
        return self.plugins.errors

    def _collect(self, hook_name: str, kind: type[S]) -> dict[str, Registered[S]]:
        hook = getattr(self.plugins.pm.hook, hook_name)
        found: dict[str, Registered[S]] = {}
        for impl in reversed(hook.get_hookimpls()):
            plugin = impl.plugin_name
            source = self.plugins.sources.get(plugin, "<registered>")
            try:
                result = impl.function()
                specs = list(result) if isinstance(result, Iterable) else [result]
            except Exception as exc:
                raise PluginError(
                    f"plugin '{plugin}' ({source}) failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}",
                    hint="fix or uninstall that plugin, or block it with TLSPROV_DISABLE_PLUGINS",
                ) from exc
            for spec in specs:
                if not isinstance(spec, kind):
                    raise PluginError(
                        f"plugin '{plugin}' ({source}) returned {type(spec).__name__} from "
                        f"{hook_name}; expected {kind.__name__}",
                        hint="report this to the plugin's authors",
                    )
                if spec.name in found:
                    other = found[spec.name]
                    raise ProviderConflict(
                        "provider" if kind is ProviderSpec else "target",
                        spec.name,
                        [f"{other.plugin} ({other.source})", f"{plugin} ({source})"],
                    )
                found[spec.name] = Registered(spec=spec, plugin=plugin, source=source)
        return dict(sorted(found.items()))

    def providers(self) -> dict[str, Registered[ProviderSpec]]:
        """Every provider by name, sorted."""
        if self._providers is None:
            self._providers = self._collect("tlsprov_register_providers", ProviderSpec)
        return self._providers

    def targets(self) -> dict[str, Registered[TargetSpec]]:
        """Every installer target by name, sorted."""
        if self._targets is None:
            self._targets = self._collect("tlsprov_register_targets", TargetSpec)
        return self._targets

    def _failed_plugin(self, name: str) -> PluginLoadError | None:
        for err in self.load_errors:
            if err.entry_point.split(" = ")[0] == name:
                return err
        return None

    def get_provider(self, name: str, options: Mapping[str, Any] | None = None) -> ManagedProvider:
        """Build the provider called ``name`` with ``options``.

        Raises:
            ProviderNotFound: no plugin offers ``name`` (the message lists the choices).
            PluginLoadError: the plugin that would offer ``name`` failed to load.
        """
        found = self.providers().get(name)
        if found is None:
            failed = self._failed_plugin(name)
            if failed is not None:
                raise failed
            raise ProviderNotFound(name, list(self.providers()))
        impl = found.spec.factory(dict(options or {}))
        if not isinstance(impl, Provider):
            raise PluginError(
                f"provider '{name}' from {found.source} has no issue(request) method",
                hint="report this to the provider plugin's authors",
            )
        return ManagedProvider(name, impl, self)

    def get_target(self, name: str) -> Target:
        """Build the installer target called ``name``.

        Raises:
            TargetNotFound: no plugin offers ``name``.
        """
        found = self.targets().get(name)
        if found is None:
            failed = self._failed_plugin(name)
            if failed is not None:
                raise failed
            raise TargetNotFound(name, list(self.targets()))
        impl = found.spec.factory()
        if not isinstance(impl, Target):
            raise PluginError(
                f"target '{name}' from {found.source} has no plan(bundle, context) method",
                hint="report this to the target plugin's authors",
            )
        return impl


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry over the installed plugins (loaded on first use)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def get_provider(name: str, /, **options: Any) -> ManagedProvider:
    """Build provider ``name`` from the installed plugins, e.g. ``get_provider("selfsigned",
    ca_dir="ca")``.

    Raises:
        ProviderNotFound: unknown name; the message says which names exist.
        ConfigError: the provider rejected an option.
    """
    if not isinstance(name, str) or not name:
        raise InputError("a provider name is required")
    return default_registry().get_provider(name, options)
