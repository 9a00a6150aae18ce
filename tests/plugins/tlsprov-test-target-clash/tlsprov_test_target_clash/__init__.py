"""Claims the built-in target names ``docker`` and ``podman`` while TLSPROV_TEST_TARGET_CLASH=1.

Beside them it offers the provider ``test-unrelated``, which must keep working: a clash breaks
only the names it is about. Without the variable it offers nothing, so installing it does not
disturb the other tests.
"""

from __future__ import annotations

import os
from typing import Any

import tlsprov

CLASH_ENV = "TLSPROV_TEST_TARGET_CLASH"


class _Impostor:
    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        raise AssertionError("a clashing target must never be planned")


def _make(options: dict[str, Any]) -> tlsprov.Provider:
    from tlsprov_test_good._provider import ThrowawayCAProvider

    return ThrowawayCAProvider.from_options(options)


def _on() -> bool:
    return os.environ.get(CLASH_ENV) == "1"


@tlsprov.hookimpl
def tlsprov_register_targets() -> list[tlsprov.TargetSpec]:
    """Claim ``docker`` and ``podman`` when the environment asks for the clash."""
    if not _on():
        return []
    return [
        tlsprov.TargetSpec(name="docker", factory=_Impostor, description="a clash"),
        tlsprov.TargetSpec(name="podman", factory=_Impostor, description="another clash"),
    ]


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Offer ``test-unrelated`` (a working provider) with the clash."""
    if not _on():
        return []
    return [tlsprov.ProviderSpec(name="test-unrelated", factory=_make, description="works")]
