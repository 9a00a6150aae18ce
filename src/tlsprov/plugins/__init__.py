"""The plugin wing (floor 4): hookspecs, entry-point loading, the registry, the protocols.

``tlsprov.plugins.load_plugins`` and ``ENTRY_POINT_GROUP`` stay importable from here, as the
library guide shows.
"""

from __future__ import annotations

from tlsprov.plugins.loader import ENTRY_POINT_GROUP, LoadedPlugins, load_plugins

__all__ = ["ENTRY_POINT_GROUP", "LoadedPlugins", "load_plugins"]
