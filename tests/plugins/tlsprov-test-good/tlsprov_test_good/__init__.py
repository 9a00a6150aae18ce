"""A tiny, well-behaved tlsprov plugin used by tlsprov's own tests.

It offers the provider ``test-good`` (a throwaway EC P-256 CA made per provider object) and the
installer target ``test-target``. Like every plugin, it imports cheaply: the provider module is
imported inside the factory.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import tlsprov


def _make_provider(options: dict[str, Any]) -> tlsprov.Provider:
    from tlsprov_test_good._provider import ThrowawayCAProvider

    return ThrowawayCAProvider.from_options(options)


class TestTarget:
    """Writes the bundle under ``/etc/tlsprov-test-target/`` (joined to the install root)."""

    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        folder = PurePosixPath("/etc/tlsprov-test-target")
        return tlsprov.Plan(
            target="test-target",
            writes=(
                tlsprov.FileWrite(
                    path=folder / f"{context.host}.crt",
                    content=bundle.fullchain_pem,
                    description="test certificate",
                ),
                tlsprov.FileWrite(
                    path=folder / f"{context.host}.key",
                    content=bundle.private_key_pem,
                    mode=0o600,
                    secret=True,
                    dir_mode=0o700,
                    description="test key",
                ),
            ),
        )


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Offer ``test-good``."""
    return [
        tlsprov.ProviderSpec(
            name="test-good",
            factory=_make_provider,
            description="throwaway EC CA (tlsprov's tests)",
        )
    ]


@tlsprov.hookimpl
def tlsprov_register_targets() -> list[tlsprov.TargetSpec]:
    """Offer ``test-target``."""
    return [
        tlsprov.TargetSpec(
            name="test-target", factory=TestTarget, description="writes files (tlsprov's tests)"
        )
    ]
