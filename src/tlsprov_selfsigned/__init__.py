"""The self-signed provider plugin: a private CA in a folder, the Harbor guide done right.

This module only registers the provider; the implementation is imported by the factory.
"""

from __future__ import annotations

from typing import Any

from tlsprov import Provider, ProviderSpec, hookimpl

__all__ = ["tlsprov_register_providers"]


def _factory(options: dict[str, Any]) -> Provider:
    from tlsprov_selfsigned._provider import make_provider

    return make_provider(options)


@hookimpl
def tlsprov_register_providers() -> list[ProviderSpec]:
    """Offer the ``selfsigned`` provider."""
    return [
        ProviderSpec(
            name="selfsigned",
            factory=_factory,
            description="a private CA kept in a folder (RSA-4096, SHA-512, strict-clean)",
            written_paths=("ca_dir",),
        )
    ]
