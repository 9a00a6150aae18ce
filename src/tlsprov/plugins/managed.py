"""Providers and targets as the host uses them: every call into plugin code is guarded.

An exception a plugin raises that is not a :class:`~tlsprov.errors.TlsprovError` becomes a
:class:`~tlsprov.errors.PluginFailure` naming the plugin, its distribution and the stage
(``plugin 'liar' (tlsprov-liar 0.1.0) failed in issue: RuntimeError: ...``). Every bundle a
provider returns is checked here, where it is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, final

from tlsprov.errors import (
    ConfigError,
    InputError,
    IssuanceError,
    LintError,
    PluginError,
    PluginFailure,
    TlsprovError,
)
from tlsprov.models import CertificateRequest, InstallContext, IssuedBundle, Plan, Usage
from tlsprov.plugins.interfaces import CAManager, Provider, Target
from tlsprov.plugins.options import table_name

if TYPE_CHECKING:
    from tlsprov.plugins.loader import LoadedPlugins

__all__ = ["CAPABILITIES", "ManagedProvider", "ManagedTarget", "call_hook", "guarded", "issue_each"]

T = TypeVar("T")
log = logging.getLogger("tlsprov")

#: Optional provider methods the host knows, reachable through :meth:`ManagedProvider.capability`.
CAPABILITIES = ("init_ca", "renewal_info", "revoke")


def guarded(plugin: str, source: str, stage: str, call: Callable[[], T]) -> T:
    """Run plugin code; turn anything but a :class:`TlsprovError` into a PluginFailure."""
    try:
        return call()
    except TlsprovError:
        raise
    except Exception as exc:  # plugin code: name the plugin, keep the traceback as the cause
        raise PluginFailure(plugin=plugin, source=source, stage=stage, exc=exc) from exc


def call_hook(plugins: LoadedPlugins, name: str, **kwargs: Any) -> None:
    """Call every implementation of hook ``name`` in pluggy's order, one plugin at a time.

    Each call is traced (``TLSPROV_TRACE_PLUGINS``) with the plugin that answered, and guarded:
    a plugin raising anything but a tlsprov error is a PluginFailure naming it. Hooks with
    wrappers go through pluggy as a whole.
    """
    hook = getattr(plugins.pm.hook, name)
    impls = hook.get_hookimpls()
    if not impls and not plugins.tracing:  # a bulk run pays nothing for an unused hook
        return
    if any(i.wrapper or i.hookwrapper for i in impls):
        hook(**kwargs)  # traced by the loader's monitor
        return
    order = [i.plugin_name for i in reversed(impls)]
    plugins.trace(f"hook {name}({', '.join(sorted(kwargs))}) -> plugins {order}")
    for impl in reversed(impls):  # pluggy calls the last registered first
        plugin = impl.plugin_name
        source = plugins.sources.get(plugin, "<registered>")
        args = {a: kwargs[a] for a in impl.argnames}
        plugins.trace(f"hook {name}: calling plugin '{plugin}' ({source})")
        guarded(plugin, source, name, lambda f=impl.function, a=args: f(**a))  # type: ignore[misc]


def relabel_config_error(
    exc: ConfigError, *, kind: str, name: str, source: str | None
) -> ConfigError:
    """A plugin's ConfigError about its own table, re-sourced to the config file it came from.

    The convention: a plugin raises ``ConfigError(message, key=OPTION)`` (``source`` left out, or
    ``"provider.NAME"``); the host names the file and the ``[provider.NAME]`` table.
    """
    table = table_name(kind, name)
    if source is None or exc.source not in (None, table, table.strip("[]")):
        return exc
    prefix = ": ".join(p for p in (exc.source, exc.key) if p)
    raw = exc.message.removeprefix(f"{prefix}: ") if prefix else exc.message
    key = f"{table} {exc.key}" if exc.key else table
    return ConfigError(raw, source=source, key=key, hint=exc.hint)


@final
class ManagedProvider:
    """A provider as the host uses it: policy hooks, a checked result, observer hooks.

    Attributes:
        name: the provider name.
        plugin: the plugin (entry point) that offers it.
        source: its distribution and version (``tlsprov-liar 0.1.0``).
        impl: the plugin's own object; use :attr:`ca_manager` and :meth:`capability` instead.
        last_warnings: the harmless findings of the last :meth:`issue` (also logged).
    """

    def __init__(
        self, name: str, impl: Provider, plugins: LoadedPlugins, *, plugin: str, source: str
    ) -> None:
        self.name = name
        self.impl = impl
        self.plugin = plugin
        self.source = source
        self.last_warnings: tuple[str, ...] = ()
        self._plugins = plugins

    def __repr__(self) -> str:
        return f"ManagedProvider(name={self.name!r}, source={self.source!r})"

    def _guard(self, stage: str, call: Callable[[], T]) -> T:
        return guarded(self.plugin, self.source, stage, call)

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        """Run the policy hooks, issue, check the bundle, and tell the observers.

        Raises:
            PolicyError: a ``tlsprov_check_request`` hook refused the request.
            IssuanceError: the provider returned a broken bundle (which, and what is wrong).
            PluginFailure: the provider raised something that is not a tlsprov error.
        """
        self.last_warnings = ()
        call_hook(self._plugins, "tlsprov_check_request", request=request, provider=self.name)
        bundle = self._guard("issue", lambda: self.impl.issue(request))
        self.last_warnings = tuple(self.check(bundle, request))
        self._announce((bundle,))
        return bundle

    def issue_all(self, requests: Sequence[CertificateRequest]) -> list[IssuedBundle]:
        """Issue one bundle per request, in order, each through the hooks and checks of
        :meth:`issue`.

        A provider with an ``issue_all`` of its own gets all requests in one call (the
        ``selfsigned`` provider generates RSA keys side by side); others get them one by one.

        Raises:
            PolicyError, IssuanceError, PluginFailure: as :meth:`issue`; IssuanceError also
                when the provider returns a different number of bundles.
        """
        self.last_warnings = ()
        requests = tuple(requests)
        for request in requests:
            call_hook(self._plugins, "tlsprov_check_request", request=request, provider=self.name)
        bundles = self._guard("issue", lambda: issue_each(self.impl, requests, who=self._who))
        warnings: list[str] = []
        for bundle, request in zip(bundles, requests, strict=True):
            warnings += self.check(bundle, request)
        self.last_warnings = tuple(warnings)
        self._announce(bundles)
        return bundles

    def _announce(self, bundles: Sequence[IssuedBundle]) -> None:
        """Log the checked bundles' warnings and tell the observers about each bundle."""
        for warning in self.last_warnings:
            log.warning("%s", warning)
        for bundle in bundles:
            call_hook(self._plugins, "tlsprov_bundle_issued", bundle=bundle, provider=self.name)

    def check(self, bundle: object, request: CertificateRequest) -> list[str]:
        """Refuse a bundle that does not serve ``request``; return its harmless warnings.

        Raises:
            IssuanceError: not an IssuedBundle, malformed PEM, key not matching the leaf, a
                chain that does not lead to ``ca_pem``, names not covered, dates, usage.
        """
        from tlsprov.pki.bundlecheck import check_bundle, check_client_bundle

        if not isinstance(bundle, IssuedBundle):
            raise IssuanceError(
                f"{self._who} returned {type(bundle).__name__}, not an IssuedBundle",
                hint=self._hint,
            )
        host, *alt_names = request.identities
        try:
            if request.usage is Usage.CLIENT:
                warnings = check_client_bundle(bundle)
                # the names too: check_client_bundle does not look at them
                _client_names(bundle, request)
                return warnings
            return check_bundle(bundle, host=host, alt_names=alt_names)
        except (LintError, InputError) as exc:
            message = f"{self._who} returned a broken bundle: {exc.message}"
            raise IssuanceError(message, hint=self._hint) from exc

    @property
    def _who(self) -> str:
        return f"provider '{self.name}' ({self.source})"

    @property
    def _hint(self) -> str:
        return (
            "nothing was written; check the provider's options (a wrong CA or root file?), "
            f"else tell the authors of {self.source}"
        )

    @property
    def ca_manager(self) -> CAManager | None:
        """The provider's CA manager (``init_ca``) when it keeps a CA of its own, else ``None``.

        Calls through it are guarded like :meth:`issue`.
        """
        init_ca = self.capability("init_ca")
        if init_ca is None:
            return None
        return _GuardedCAManager(init_ca)

    def capability(self, name: str) -> Callable[..., Any] | None:
        """The optional method ``name`` of the provider (``init_ca``, ``renewal_info``,
        ``revoke``), guarded so its failures name the plugin; ``None`` when not offered."""
        method = getattr(self.impl, name, None)
        if not callable(method):
            return None

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._guard(name, lambda: method(*args, **kwargs))

        return call


def issue_each(
    provider: Provider, requests: Sequence[CertificateRequest], *, who: str = "the provider"
) -> list[IssuedBundle]:
    """The provider's bundles for ``requests``, in order: through its optional
    ``issue_all(requests)`` when it has one, else one ``issue`` call per request. Unchecked.

    Raises:
        IssuanceError: ``issue_all`` returned a different number of bundles than requests.
    """
    bulk = getattr(provider, "issue_all", None)
    if not callable(bulk):
        return [provider.issue(request) for request in requests]
    bundles = list(bulk(requests))
    if len(bundles) != len(requests):
        raise IssuanceError(
            f"{who} returned {len(bundles)} bundles for {len(requests)} requests",
            hint="nothing was written; tell the provider's authors",
        )
    return bundles


@final
class _GuardedCAManager:
    def __init__(self, init_ca: Callable[..., Any]) -> None:
        self._init_ca = init_ca

    def init_ca(self, *, force: bool = False) -> Any:
        return self._init_ca(force=force)


def _client_names(bundle: IssuedBundle, request: CertificateRequest) -> None:
    from tlsprov.pki.x509 import covers, load_cert, san_identities

    dns, ips = san_identities(load_cert(bundle.leaf_pem, source="the bundle's certificate"))
    missing = [i for i in request.identities if not covers(dns, ips, i)]
    if missing:
        raise LintError([f"{', '.join(missing)} not in the certificate's subjectAltName"])


@final
class ManagedTarget:
    """A target as the installer uses it: ``plan`` guarded and its result checked."""

    def __init__(self, name: str, impl: Target, *, plugin: str, source: str) -> None:
        self.name = name
        self.impl = impl
        self.plugin = plugin
        self.source = source

    def __repr__(self) -> str:
        return f"ManagedTarget(name={self.name!r}, source={self.source!r})"

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Ask the target for its plan.

        Raises:
            PluginFailure: the target raised something that is not a tlsprov error.
            PluginError: it returned something that is not a :class:`Plan`.
        """
        plan = guarded(self.plugin, self.source, "plan", lambda: self.impl.plan(bundle, context))
        if not isinstance(plan, Plan):
            raise PluginError(
                f"target '{self.name}' ({self.source}) returned {type(plan).__name__} from "
                "plan(), not a Plan",
                hint=f"tell the authors of {self.source}",
            )
        return plan
