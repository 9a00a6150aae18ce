"""The plugin manager: entry-point discovery, guarded per plugin, with a block list and tracing."""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from tlsprov.errors import PluginLoadError
from tlsprov.plugins import hookspecs

__all__ = ["ENTRY_POINT_GROUP", "LoadedPlugins", "load_plugins"]

ENTRY_POINT_GROUP = "tlsprov"
DISABLE_ENV = "TLSPROV_DISABLE_PLUGINS"
TRACE_ENV = "TLSPROV_TRACE_PLUGINS"


@dataclass
class LoadedPlugins:
    """A plugin manager plus what was learned while loading it.

    Attributes:
        pm: the pluggy manager; only :mod:`tlsprov.plugins.registry` and ``managed`` call its
            hooks.
        sources: plugin name → ``"distribution version"`` (or ``"<registered>"``).
        errors: one :class:`PluginLoadError` per entry point that failed to load.
        blocked: entry-point names skipped because of ``TLSPROV_DISABLE_PLUGINS``.
        tracing: ``TLSPROV_TRACE_PLUGINS`` was set: every hook call is printed to stderr.
    """

    pm: pluggy.PluginManager
    sources: dict[str, str] = field(default_factory=dict)
    errors: list[PluginLoadError] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    tracing: bool = False

    def trace(self, line: str) -> None:
        """Print ``tlsprov: trace: LINE`` to stderr when tracing is on."""
        if self.tracing:
            print(f"tlsprov: trace: {line}", file=sys.stderr)

    def register(self, plugin: object, name: str, source: str = "<registered>") -> None:
        """Register an in-process plugin (tests, embedding applications)."""
        self.pm.register(plugin, name=name)
        self.sources[name] = source
        self.pm.check_pending()


def _blocked_names(environ: dict[str, str] | os._Environ[str]) -> set[str]:
    raw = environ.get(DISABLE_ENV, "")
    return {n.strip() for n in raw.replace(";", ",").split(",") if n.strip()}


def _dist_label(ep: md.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "<unknown distribution>", ""
    return dist.metadata["Name"] or "<unknown>", dist.version


def load_plugins(
    *, entry_points: bool = True, environ: dict[str, str] | os._Environ[str] | None = None
) -> LoadedPlugins:
    """Create a plugin manager and load every plugin of the ``tlsprov`` entry-point group.

    A plugin that fails to import is recorded in ``errors`` (naming its distribution) and the
    others keep loading. Entry points named in ``TLSPROV_DISABLE_PLUGINS`` (comma-separated) are
    skipped. ``TLSPROV_TRACE_PLUGINS=1`` prints every hook call to stderr, the register hooks
    included (with the plugin that answered and the names it offered).
    """
    env = os.environ if environ is None else environ
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    loaded = LoadedPlugins(pm=pm, tracing=env.get(TRACE_ENV, "") not in ("", "0"))
    if loaded.tracing:

        def _before(name: str, impls: Any, kwargs: Any) -> None:
            plugins = [i.plugin_name for i in impls]
            loaded.trace(f"hook {name}({', '.join(sorted(kwargs))}) -> plugins {plugins}")

        def _after(outcome: Any, name: str, impls: Any, kwargs: Any) -> None:
            exc = outcome.exception
            if exc is not None:
                loaded.trace(f"hook {name} raised {type(exc).__name__}: {exc}")
            else:
                loaded.trace(f"hook {name} answered")

        pm.add_hookcall_monitoring(_before, _after)
    if not entry_points:
        return loaded
    blocked = _blocked_names(env)
    seen: set[str] = set()
    for ep in sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist_name, dist_version = _dist_label(ep)
        if ep.name in blocked or dist_name in blocked:
            loaded.blocked.append(ep.name)
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            loaded.trace(f"loaded plugin '{ep.name}' ({dist_name} {dist_version})")
        except Exception as exc:  # a broken plugin must not stop the others
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            loaded.errors.append(
                PluginLoadError(
                    f"plugin '{ep.name}' from distribution '{dist_name}' failed to load ({reason})",
                    entry_point=f"{ep.name} = {ep.value}",
                    distribution=dist_name,
                )
            )
            continue
        loaded.sources[ep.name] = f"{dist_name} {dist_version}".strip()
    pm.check_pending()
    return loaded
