"""The typed facade over the plugin hooks: names → providers and targets.

With :mod:`tlsprov.plugins.managed`, the only module that calls plugin hooks. It validates what
plugins hand over, records two plugins claiming one name (only that name becomes unusable),
checks declared options, and turns unknown names into "choose one of" errors.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tlsprov.errors import (
    ConfigError,
    InputError,
    NameConflict,
    PluginError,
    PluginLoadError,
    ProviderConflict,
    ProviderNotFound,
    TargetConflict,
    TargetNotFound,
)
from tlsprov.plugins.interfaces import Provider, Target
from tlsprov.plugins.loader import LoadedPlugins, load_plugins
from tlsprov.plugins.managed import ManagedProvider, ManagedTarget, guarded, relabel_config_error
from tlsprov.plugins.options import check_options, table_name
from tlsprov.plugins.specs import ProviderSpec, TargetSpec

__all__ = [
    "ManagedProvider",
    "ManagedTarget",
    "Registered",
    "Registry",
    "default_registry",
    "get_provider",
]

S = TypeVar("S", ProviderSpec, TargetSpec)


@dataclass(frozen=True, slots=True)
class Registered(Generic[S]):
    """A spec with the plugin and distribution that offered it."""

    spec: S
    plugin: str
    source: str


def takes_options(factory: Callable[..., object]) -> bool:
    """True when ``factory`` accepts one positional argument (the options dict)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional or p.kind is p.VAR_POSITIONAL for p in params)


class Registry:
    """Providers and targets offered by the loaded plugins."""

    def __init__(self, plugins: LoadedPlugins | None = None) -> None:
        self.plugins = plugins if plugins is not None else load_plugins()
        self._claims: dict[str, dict[str, list[Registered[Any]]]] = {}

    @property
    def load_errors(self) -> list[PluginLoadError]:
        """Plugins that failed to load (the rest still work)."""
        return self.plugins.errors

    def _collect(self, hook_name: str, kind: type[S]) -> dict[str, list[Registered[S]]]:
        hook = getattr(self.plugins.pm.hook, hook_name)
        found: dict[str, list[Registered[S]]] = {}
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
            names = [getattr(s, "name", "?") for s in specs]
            self.plugins.trace(f"hook {hook_name}: plugin '{plugin}' ({source}) answered {names}")
            for spec in specs:
                if not isinstance(spec, kind):
                    raise PluginError(
                        f"plugin '{plugin}' ({source}) returned {type(spec).__name__} from "
                        f"{hook_name}; expected {kind.__name__}",
                        hint=f"tell the authors of {source}",
                    )
                found.setdefault(spec.name, []).append(Registered(spec, plugin, source))
        return dict(sorted(found.items()))

    def _all(self, kind: str) -> dict[str, list[Registered[Any]]]:
        if kind not in self._claims:
            if kind == "provider":
                self._claims[kind] = dict(self._collect("tlsprov_register_providers", ProviderSpec))
            else:
                self._claims[kind] = dict(self._collect("tlsprov_register_targets", TargetSpec))
        return self._claims[kind]

    def providers(self) -> dict[str, Registered[ProviderSpec]]:
        """Every provider by name, sorted; a name two plugins claim is left out (see
        :meth:`conflicts`)."""
        return {n: c[0] for n, c in self._all("provider").items() if len(c) == 1}

    def targets(self) -> dict[str, Registered[TargetSpec]]:
        """Every installer target by name, sorted; clashing names are left out."""
        return {n: c[0] for n, c in self._all("target").items() if len(c) == 1}

    def claims(self, kind: str) -> dict[str, list[Registered[Any]]]:
        """Every ``provider`` or ``target`` name with all the plugins claiming it."""
        return dict(self._all(kind))

    def conflicts(self) -> list[NameConflict]:
        """One error per name claimed by more than one plugin (providers, then targets)."""
        found: list[NameConflict] = []
        for kind in ("provider", "target"):
            for name, claims in self._all(kind).items():
                if len(claims) > 1:
                    found.append(self._conflict(kind, name, claims))
        return found

    def conflict(self, kind: str, name: str) -> NameConflict | None:
        """The clash over ``name`` (``provider`` or ``target``), or ``None``."""
        claims = self._all(kind).get(name, [])
        return self._conflict(kind, name, claims) if len(claims) > 1 else None

    @staticmethod
    def _conflict(kind: str, name: str, claims: list[Registered[Any]]) -> NameConflict:
        cls = ProviderConflict if kind == "provider" else TargetConflict
        return cls(kind, name, [f"{c.plugin} ({c.source})" for c in claims])

    def _failed_plugin(self, name: str) -> PluginLoadError | None:
        for err in self.load_errors:
            if err.entry_point.split(" = ")[0] == name:
                return err
        return None

    def _lookup(self, kind: str, name: str) -> Registered[Any]:
        claims = self._all(kind).get(name, [])
        if len(claims) > 1:
            raise self._conflict(kind, name, claims)
        if claims:
            return claims[0]
        failed = self._failed_plugin(name)
        if failed is not None:
            raise failed
        if kind == "provider":
            raise ProviderNotFound(name, list(self.providers()))
        raise TargetNotFound(name, list(self.targets()))

    def _build(
        self,
        kind: str,
        found: Registered[Any],
        options: Mapping[str, Any] | None,
        source: str | None,
    ) -> object:
        name = found.spec.name
        opts = check_options(kind, name, found.spec.options, options or {}, source=source)
        factory = found.spec.factory
        if kind == "target" and not takes_options(factory):
            if options:
                raise ConfigError(
                    f"target '{name}' takes no settings, got {', '.join(sorted(options))}",
                    source=source,
                    key=table_name(kind, name),
                    hint="remove them",
                )
            build: Callable[[], object] = factory
        else:

            def build() -> object:
                return factory(dict(opts))

        try:
            return guarded(found.plugin, found.source, "factory", build)
        except ConfigError as exc:
            raise relabel_config_error(exc, kind=kind, name=name, source=source) from exc

    def get_provider(
        self, name: str, options: Mapping[str, Any] | None = None, *, source: str | None = None
    ) -> ManagedProvider:
        """Build the provider called ``name`` with ``options``.

        Args:
            name: the provider name.
            options: its options (declared ones are checked, defaults filled in).
            source: where the options come from (a config file), named in errors.

        Raises:
            ProviderNotFound: no plugin offers ``name`` (the message lists the choices).
            ProviderConflict: two plugins offer ``name``.
            PluginLoadError: the plugin that would offer ``name`` failed to load.
            ConfigError: an option is unknown or of the wrong type.
            PluginFailure: the factory raised (an ImportError included).
        """
        found = self._lookup("provider", name)
        impl = self._build("provider", found, options, source)
        if not isinstance(impl, Provider):
            raise PluginError(
                f"provider '{name}' from {found.source} has no issue(request) method",
                hint=f"tell the authors of {found.source}",
            )
        return ManagedProvider(name, impl, self.plugins, plugin=found.plugin, source=found.source)

    def get_target(
        self, name: str, options: Mapping[str, Any] | None = None, *, source: str | None = None
    ) -> ManagedTarget:
        """Build the installer target called ``name`` with its settings.

        Raises:
            TargetNotFound: no plugin offers ``name``.
            TargetConflict: two plugins offer ``name``.
            ConfigError: a setting is unknown or of the wrong type, or the target takes none.
            PluginFailure: the factory raised.
        """
        found = self._lookup("target", name)
        impl = self._build("target", found, options, source)
        if not isinstance(impl, Target):
            raise PluginError(
                f"target '{name}' from {found.source} has no plan(bundle, context) method",
                hint=f"tell the authors of {found.source}",
            )
        return ManagedTarget(name, impl, plugin=found.plugin, source=found.source)


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

    The result's ``issue(request)`` runs the policy hooks and checks the bundle; its
    ``ca_manager`` and ``capability(name)`` reach the provider's optional methods.

    Raises:
        ProviderNotFound: unknown name; the message says which names exist.
        ConfigError: the provider rejected an option.
        PluginFailure: the provider's factory raised.
    """
    if not isinstance(name, str) or not name:
        raise InputError("a provider name is required")
    return default_registry().get_provider(name, options)
