"""The ACME (Let's Encrypt) provider plugin.

This module must import cheaply: ``acme``, ``josepy`` and ``requests`` are imported only inside
the provider factory.
"""

from __future__ import annotations

from typing import Any

from tlsprov import Provider, ProviderSpec, hookimpl

__all__ = ["tlsprov_register_providers"]


def _factory(options: dict[str, Any]) -> Provider:
    from tlsprov_letsencrypt._provider import make_provider

    return make_provider(options)


@hookimpl
def tlsprov_register_providers() -> list[ProviderSpec]:
    """Offer the ``letsencrypt`` provider."""
    return [
        ProviderSpec(
            name="letsencrypt",
            factory=_factory,
            description="publicly trusted certificates from an ACME CA (Let's Encrypt)",
            written_paths=("state_dir", "account_dir", "webroot"),
            state_option="state_dir",
        )
    ]
