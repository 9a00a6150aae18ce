"""What an install, dry run or rollback reports: :class:`InstallResult`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["NOTHING_TO_DO", "InstallResult"]

NOTHING_TO_DO = "nothing to do: every file is already in place"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallResult:
    """What an install, dry run or rollback did. Holds no key material.

    Attributes:
        operation: ``install``, ``dry-run`` or ``rollback``.
        changed: True when a file was written, restored or removed.
        changed_files: host paths written (install) or restored (rollback).
        removed_files: host paths removed by a rollback.
        backup_dir: the backup folder of this install or rollback, if any.
        commands: the commands run, in order.
        warnings: things the user should know.
        notes: informational lines.
        plan: the rendered plan (dry runs).
    """

    operation: Literal["install", "dry-run", "rollback"]
    changed: bool
    changed_files: tuple[str, ...] = ()
    removed_files: tuple[str, ...] = ()
    backup_dir: Path | None = None
    commands: tuple[tuple[str, ...], ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "operation": self.operation,
            "changed": self.changed,
            "changed_files": list(self.changed_files),
            "removed_files": list(self.removed_files),
            "backup_dir": str(self.backup_dir) if self.backup_dir else None,
            "commands": [list(c) for c in self.commands],
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "plan": list(self.plan),
        }

    def lines(self) -> list[str]:
        """Human summary lines (warnings excluded; print those separately)."""
        if self.operation == "dry-run":
            return list(self.plan)
        verb = "restored" if self.operation == "rollback" else "wrote"
        out = [f"{verb} {p}" for p in self.changed_files]
        out += [f"removed {p}" for p in self.removed_files]
        out += ["ran " + " ".join(c) for c in self.commands]
        if self.backup_dir is not None:
            label = "backup" if self.operation == "install" else "rolled back"
            out.append(f"{label}: {self.backup_dir}")
        out += list(self.notes)
        return out
