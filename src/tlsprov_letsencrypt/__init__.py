"""The ACME (Let's Encrypt) provider plugin.

This module must import cheaply: ``acme``, ``josepy`` and ``requests`` are imported only inside
the provider factory.
"""

from __future__ import annotations

from typing import Any

from tlsprov import NotSupported, Provider, ProviderSpec, hookimpl

__all__ = ["tlsprov_register_providers"]


def _factory(options: dict[str, Any]) -> Provider:
    raise NotSupported(
        "the letsencrypt provider is not implemented yet",
        hint="use --provider selfsigned for now",
    )


@hookimpl
def tlsprov_register_providers() -> list[ProviderSpec]:
    """Offer the ``letsencrypt`` provider."""
    return [
        ProviderSpec(
            name="letsencrypt",
            factory=_factory,
            description="publicly trusted certificates from an ACME CA (Let's Encrypt)",
        )
    ]
