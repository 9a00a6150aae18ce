"""The tlsprov hooks: the plugin author's reference.

A plugin is a module (or object) with functions marked ``@tlsprov.hookimpl`` whose names match the
hooks below. Publish it through the ``tlsprov`` entry-point group::

    # pyproject.toml of your distribution
    [project.entry-points.tlsprov]
    myca = "tlsprov_myca"

    # tlsprov_myca/__init__.py
    import tlsprov

    @tlsprov.hookimpl
    def tlsprov_register_providers():
        from tlsprov_myca._provider import make_provider   # heavy imports stay lazy
        return [tlsprov.ProviderSpec(name="myca", factory=make_provider,
                                     description="certificates from my CA")]

Hooks are called with keyword arguments. A plugin may implement any subset of them, and any
subset of a hook's arguments. The host (the registry) owns naming: two plugins offering the
same provider or target name make only that name unusable, with an error naming both.
Exceptions raised by plugin code (factories, ``issue``, ``plan``) are reported naming the
plugin and its distribution.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from tlsprov.models import CertificateRequest, IssuedBundle
    from tlsprov.plugins.specs import ProviderSpec, TargetSpec

__all__ = [
    "PROJECT",
    "hookimpl",
    "hookspec",
    "tlsprov_bundle_issued",
    "tlsprov_check_request",
    "tlsprov_register_providers",
    "tlsprov_register_targets",
]

PROJECT = "tlsprov"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def tlsprov_register_providers() -> Iterable[ProviderSpec]:  # type: ignore[empty-body]
    """Return the certificate providers this plugin offers.

    Users pick a provider by :attr:`ProviderSpec.name` (``--provider NAME`` or
    ``[provider] name``). The factory receives the provider's options as a dict (the
    ``[provider.NAME]`` config table, or ``-o KEY=VALUE`` and the mapped CLI flags) and returns
    an object with ``issue(request) -> IssuedBundle`` (see
    :class:`tlsprov.plugins.interfaces.Provider`). Declare the options on the spec
    (``options=(OptionSpec(...), ...)``) and the host checks them before the factory runs.

    Example::

        @tlsprov.hookimpl
        def tlsprov_register_providers():
            return [tlsprov.ProviderSpec(
                name="myca",
                factory=MyProvider.from_options,
                options=(tlsprov.OptionSpec(name="days", type=int, default=90, help="validity"),),
            )]
    """


@hookspec
def tlsprov_register_targets() -> Iterable[TargetSpec]:  # type: ignore[empty-body]
    """Return the installer targets this plugin offers (``harbor``, ``docker``, ...).

    The factory takes the target's settings dict (``[targets.NAME]`` in tlsprov.toml,
    ``--target-option NAME.KEY=VALUE`` on ``install``), or no argument at all, and returns an
    object with ``plan(bundle, context) -> Plan`` (see :class:`tlsprov.Target`). Settings are
    declared and checked like provider options. A target never needs to know which provider
    issued the bundle.

    Example::

        @tlsprov.hookimpl
        def tlsprov_register_targets():
            return [tlsprov.TargetSpec(
                name="haproxy",
                factory=HaproxyTarget,  # HaproxyTarget(settings)
                options=(tlsprov.OptionSpec(name="pem_dir", default="/etc/haproxy/certs"),),
            )]
    """


@hookspec
def tlsprov_check_request(request: CertificateRequest, provider: str) -> None:
    """Veto a request before any key is generated, by raising :class:`tlsprov.PolicyError`.

    Args:
        request: the names, key type, validity and usage asked for.
        provider: the name of the provider that would issue it.

    Example::

        @tlsprov.hookimpl
        def tlsprov_check_request(request, provider):
            if any(n.startswith("*.") for n in request.dns_names):
                raise tlsprov.PolicyError("wildcards are not allowed here")
    """


@hookspec
def tlsprov_bundle_issued(bundle: IssuedBundle, provider: str) -> None:
    """Observe an issued bundle (audit log, metrics). Must not be used for control flow.

    Args:
        bundle: the issued bundle; never log ``bundle.private_key_pem``.
        provider: the name of the provider that issued it.

    Example::

        @tlsprov.hookimpl
        def tlsprov_bundle_issued(bundle, provider):
            audit.info("issued by %s", provider)
    """
