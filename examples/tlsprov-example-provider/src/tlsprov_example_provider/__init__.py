"""An example tlsprov plugin: the ``intermediate-ca`` provider.

It issues server and client certificates from an intermediate CA whose certificate and key
already exist as files (for example a CA your organisation gave you), so registry clients keep
trusting the organisation's root.

This module is what the ``tlsprov`` entry point names. It stays cheap to import: it only
registers the provider; the factory imports the implementation (and ``cryptography``) when a
user actually selects ``intermediate-ca``.
"""

from __future__ import annotations

from typing import Any

import tlsprov

__all__ = ["PROVIDER_NAME", "tlsprov_register_providers"]

PROVIDER_NAME = "intermediate-ca"


def _factory(options: dict[str, Any]) -> tlsprov.Provider:
    from tlsprov_example_provider._provider import make_provider

    return make_provider(options)


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Offer the ``intermediate-ca`` provider."""
    return [
        tlsprov.ProviderSpec(
            name=PROVIDER_NAME,
            factory=_factory,
            description="certificates from an intermediate CA kept in files",
        )
    ]
