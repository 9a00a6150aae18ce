"""Rolling back: the last install on demand, or an install that was killed half-way.

Every install leaves a journal (:mod:`~tlsprov.install.backup`); these functions restore what
it recorded, re-run the commands of the targets involved so services use the restored files,
and mark the journal rolled back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tlsprov.errors import InstallError, RollbackError, TlsprovError
from tlsprov.install import backup
from tlsprov.install.backup import default_state_dir
from tlsprov.install.commands import Commands
from tlsprov.install.lockfile import hold_lock
from tlsprov.install.result import InstallResult
from tlsprov.install.rollback_hooks import HOOKS, add_rollback_hook
from tlsprov.runner import CommandRunner

__all__ = [
    "add_rollback_hook",
    "pending_warning",
    "recover_interrupted",
    "recover_locked",
    "rollback_last",
]


def rollback_last(
    root: Path,
    state_dir: Path | None = None,
    *,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
) -> InstallResult:
    """Undo the newest install that has not been rolled back yet.

    Restores replaced files byte for byte (contents and modes), removes created files and the
    empty folders the install made, then re-runs the install's commands (best effort).

    Raises:
        RollbackError: nothing to roll back, or a file could not be restored.
        LockedError: another run holds the lock.
    """
    state = state_dir if state_dir is not None else default_state_dir(root)
    if not (state / "backups").is_dir():
        raise _nothing(state)
    with hold_lock(state, timeout=lock_timeout):
        journal = backup.find_latest(state)
        if journal is None:
            raise _nothing(state)
        if journal.root and Path(journal.root).resolve() != root.resolve():
            raise RollbackError(
                f"the newest backup ({journal.folder.name}) was made for the root {journal.root}, "
                f"not {root}",
                hint=f"pass --root {journal.root}",
            )
        outcome = backup.restore(journal, check_changed=True)
        result = _finish_rollback(journal, outcome, Commands(runner or CommandRunner(), root))
        notes, warnings = _run_hooks(journal)
    if not (notes or warnings):
        return result
    from dataclasses import replace

    return replace(result, notes=(*result.notes, *notes), warnings=(*result.warnings, *warnings))


def _run_hooks(journal: backup.Journal) -> tuple[tuple[str, ...], tuple[str, ...]]:
    notes: list[str] = []
    warnings: list[str] = []
    for hook in HOOKS:
        try:
            notes += hook(journal)
        except (TlsprovError, OSError) as exc:
            text = exc.one_line() if isinstance(exc, TlsprovError) else str(exc)
            warnings.append(f"the files were rolled back, but {text}")
    return tuple(notes), tuple(warnings)


def _finish_rollback(
    journal: backup.Journal, outcome: Any, cmds: Commands, notes: tuple[str, ...] = ()
) -> InstallResult:
    """Re-run the journal's commands, mark it rolled back, and describe what was done."""
    ran, cmd_warnings = cmds.rerun(journal)
    journal.status = backup.STATUS_ROLLED_BACK
    try:
        journal.save()
    except (TlsprovError, OSError) as exc:  # the files are back; only the mark is missing
        why = exc.message if isinstance(exc, TlsprovError) else str(exc)
        raise InstallError(
            f"every file was restored, but the backup journal {journal.folder.name} could not "
            f"be marked rolled back ({why})",
            hint="fix that (free space?), then run 'tlsprov rollback' again (files are in place)",
        ) from exc
    return InstallResult(
        operation="rollback",
        changed=bool(outcome.restored or outcome.removed),
        changed_files=outcome.restored,
        removed_files=outcome.removed,
        backup_dir=journal.folder,
        commands=tuple(ran),
        warnings=outcome.warnings + tuple(cmd_warnings),
        notes=notes,
    )


def pending_warning(state: Path) -> tuple[str, ...]:
    journal = backup.find_latest(state) if (state / "backups").is_dir() else None
    if journal is None or journal.status != backup.STATUS_PENDING:
        return ()
    name = journal.folder.name
    return (f"an earlier install ({name}) was interrupted; a real run rolls it back first",)


def recover_locked(state: Path, root: Path, cmds: Commands) -> InstallResult | None:
    """Roll back an install that was stopped half-way (still in-progress); the caller holds
    the lock."""
    if not (state / "backups").is_dir():
        return None
    journal = backup.find_latest(state)
    if journal is None or journal.status != backup.STATUS_PENDING:
        return None
    if journal.root and Path(journal.root).resolve() != root.resolve():
        raise InstallError(
            f"an interrupted install ({journal.folder.name}) in {state} was made for the root "
            f"{journal.root}",
            hint=f"run 'tlsprov rollback --root {journal.root}' first",
        )
    outcome = backup.restore(journal)
    return _finish_rollback(
        journal,
        outcome,
        cmds,
        (f"rolled back an interrupted install ({journal.folder.name}) first",),
    )


def recover_interrupted(
    root: Path,
    state_dir: Path | None = None,
    *,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
) -> InstallResult | None:
    """Roll back an install that was killed half-way, if any; else return None.

    :func:`apply_install` does this itself, but after its plan was made: call this before
    :func:`plan_install` so the plan sees the restored files.

    Raises:
        RollbackError: a file could not be restored.
        LockedError: another run holds the lock.
    """
    state = state_dir if state_dir is not None else default_state_dir(root)
    if not (state / "backups").is_dir():
        return None
    with hold_lock(state, timeout=lock_timeout):
        return recover_locked(state, root, Commands(runner or CommandRunner(), root))


def _nothing(state: Path) -> RollbackError:
    return RollbackError(
        f"nothing to roll back: no install backup in {state / 'backups'}",
        hint="only installs that changed files can be rolled back; pass --state-dir if the "
        "install used another state folder",
    )
