"""Old import path of :mod:`tlsprov.lifecycle.config` (``resolve_secret`` for plugins)."""

from tlsprov.lifecycle.config import *  # noqa: F403
from tlsprov.lifecycle.config import __all__ as __all__
