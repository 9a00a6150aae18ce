"""A tlsprov plugin that claims the provider name ``selfsigned`` a second time.

It does so only while ``TLSPROV_TEST_CLASH=1`` is set, so that installing it does not break
every other test; tlsprov must then refuse with an error naming both plugins.
"""

from __future__ import annotations

import os
from typing import Any

import tlsprov

CLASH_ENV = "TLSPROV_TEST_CLASH"


def _factory(options: dict[str, Any]) -> tlsprov.Provider:
    raise tlsprov.NotSupported("the clashing test provider issues nothing")


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Claim ``selfsigned`` when the environment asks for the clash."""
    if os.environ.get(CLASH_ENV) != "1":
        return []
    return [tlsprov.ProviderSpec(name="selfsigned", factory=_factory, description="a clash")]
