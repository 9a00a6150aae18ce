"""What runs after an on-demand rollback, apart from :mod:`~tlsprov.install.rollback` so that
registering a hook (the lifecycle does, on import) loads nothing heavy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from tlsprov.install.backup import Journal

__all__ = ["HOOKS", "RollbackHook", "add_rollback_hook"]

#: Called with each journal ``rollback_last`` restored (lock held); returns notes to show.
RollbackHook: TypeAlias = "Callable[[Journal], tuple[str, ...]]"
HOOKS: list[RollbackHook] = []


def add_rollback_hook(hook: RollbackHook) -> None:
    """Have ``hook`` run after every on-demand rollback (the lifecycle puts its lineage back).

    A hook that raises does not undo the rollback: its error becomes a warning.
    """
    if hook not in HOOKS:
        HOOKS.append(hook)
