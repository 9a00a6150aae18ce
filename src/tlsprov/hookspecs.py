"""Old import path of :mod:`tlsprov.plugins.hookspecs` (the plugin author's reference)."""

from tlsprov.plugins.hookspecs import *  # noqa: F403
from tlsprov.plugins.hookspecs import __all__ as __all__
