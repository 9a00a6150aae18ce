"""Optional provider capability: rolling its CA over without breaking clients.

``tlsprov ca rotate`` and ``tlsprov status`` check for it with ``isinstance``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["ROTATION_STEPS", "CARotation"]

#: The steps, in order: start (both CAs distributed), switch signing, retire the old CA.
ROTATION_STEPS = ("distribute", "switch", "retire")


@runtime_checkable
class CARotation(Protocol):
    """A provider whose CA can be rolled over in three steps."""

    def rotate_ca(self, step: str, *, dry_run: bool = False) -> dict[str, Any]:
        """Run one of :data:`ROTATION_STEPS`; return the new phase, the plan and the backup.

        Raises:
            InputError: the step does not follow the current phase, or the CA is unusable.
        """
        ...

    def ca_rotation(self) -> dict[str, Any]:
        """The phase and the fingerprints of the CAs clients must trust (reads no key)."""
        ...
