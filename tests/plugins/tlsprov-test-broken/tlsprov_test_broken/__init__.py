"""A tlsprov plugin whose import fails, as when a plugin's dependency is missing.

tlsprov must record the failure (naming this distribution) and keep loading the other plugins.
"""

from __future__ import annotations

import tlsprov_test_missing_dependency  # noqa: F401  (does not exist, on purpose)

import tlsprov


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Never reached: the import above fails."""
    return []
