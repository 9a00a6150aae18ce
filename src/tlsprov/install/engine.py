"""The install engine: validate, plan every target, back up, write atomically, run, check.

Targets only describe what they want (:class:`tlsprov.models.Plan`); this module applies those
plans safely. Any failure after the first write rolls everything back before the error is
raised, and :func:`tlsprov.install.rollback.rollback_last` undoes the newest install on demand.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from tlsprov.errors import InstallError, RollbackError, TlsprovError, VerifyError
from tlsprov.fsops import atomic_write, refuse_symlinks
from tlsprov.install import backup
from tlsprov.install.backup import default_state_dir
from tlsprov.install.commands import Commands, journal_command
from tlsprov.install.lockfile import hold_lock
from tlsprov.install.planning import FileAction, InstallPlan, assess, plan_install
from tlsprov.install.result import NOTHING_TO_DO, InstallResult
from tlsprov.runner import CommandRunner

__all__ = [
    "FileAction",
    "InstallPlan",
    "InstallResult",
    "apply_install",
    "default_state_dir",
    "plan_install",
    "render_plan",
]


#: Seconds each command may take when re-run after Ctrl-C or SIGTERM (systemd waits 90 s).
STOP_RERUN_TIMEOUT = 20.0


def render_plan(install_plan: InstallPlan) -> list[str]:
    """The plan as human lines: files (with diffs), commands in order, warnings, notes."""
    from tlsprov.install.render import render_lines

    return render_lines(install_plan)


def _recheck(install_plan: InstallPlan) -> None:
    root = install_plan.context.root
    for action in install_plan.actions:
        now = assess(action.target, action.write, root)
        if now.action != action.action or now.old_content != action.old_content:
            raise InstallError(
                f"{action.path} changed after the plan was made",
                hint="run the install again",
            )


def _make_dirs(install_plan: InstallPlan, journal: backup.Journal) -> None:
    root = install_plan.context.root
    for host_dir, mode in install_plan.new_dirs:
        real = root.joinpath(*host_dir.parts[1:])
        if real.exists():
            continue
        journal.created_dirs.append(backup.JournalDir(path=str(host_dir), mode=mode))
        journal.save()
        try:
            real.mkdir(mode=mode)
            os.chmod(real, mode)
        except OSError as exc:
            raise InstallError(f"could not create {real}: {exc.strerror}") from exc


def _tighten_dirs(install_plan: InstallPlan, journal: backup.Journal) -> None:
    """Make existing folders that will hold a key 0700, noting their old mode first."""
    root = install_plan.context.root
    for host_dir, mode in install_plan.tighten_dirs:
        journal.tightened_dirs.append(backup.JournalDir(path=str(host_dir), mode=mode))
        journal.save()
        real = root.joinpath(*host_dir.parts[1:])
        try:
            os.chmod(real, 0o700)
        except OSError as exc:
            raise InstallError(f"could not make {real} private: {exc.strerror}") from exc


def _owner(action: FileAction) -> tuple[int, int] | None:
    """The requested owner, else (as root) the replaced file's owner."""
    if action.write.owner is not None:
        return action.write.owner
    if action.old_owner is not None and os.geteuid() == 0:
        return action.old_owner
    return None


def _final_check(actions: Sequence[FileAction], root: Path) -> None:
    for action in actions:
        real = root.joinpath(*action.path.parts[1:])
        try:
            st = real.lstat()
            same = stat.S_ISREG(st.st_mode) and real.read_bytes() == action.write.content
        except OSError:
            same = False
        if not same:
            raise VerifyError(f"{action.path} does not hold what was written")
        if stat.S_IMODE(st.st_mode) != action.mode:
            raise VerifyError(
                f"{action.path} has mode {stat.S_IMODE(st.st_mode):04o}, expected {action.mode:04o}"
            )


def apply_install(
    install_plan: InstallPlan,
    *,
    state_dir: Path | None = None,
    dry_run: bool = False,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
    final_check: Callable[[], None] | None = None,
    lock_held: bool = False,
    labels: dict[str, str] | None = None,
) -> InstallResult:
    """Apply a plan: back up, write atomically, run commands, check; roll back on failure.

    Args:
        install_plan: from :func:`plan_install`.
        state_dir: backups and lock; default ``<root>/var/lib/tlsprov``.
        dry_run: touch nothing (not even the state folder); return the rendered plan.
        runner: runs the commands; default the context's runner or a new CommandRunner.
        lock_timeout: seconds to wait for another run's lock.
        final_check: called after the files are re-read; raise to roll back.
        lock_held: the caller already holds the state folder's lock (``provision``).
        labels: kept in the journal for the rollback hooks (see ``install.rollback``).

    Raises:
        LockedError: another run holds the lock.
        InputError: a symlink appeared at a planned path (nothing written).
        InstallError: a write, command or check failed; the message says it was rolled back.
        RollbackError: the failure could not be rolled back completely.
    """
    ctx = install_plan.context
    warnings = install_plan.warnings
    if dry_run:
        from tlsprov.install.rollback import pending_warning

        warnings += pending_warning(state_dir or default_state_dir(ctx.root))
        return InstallResult(
            operation="dry-run",
            changed=False,
            warnings=warnings,
            notes=install_plan.notes,
            plan=tuple(render_plan(install_plan)),
        )
    state = state_dir if state_dir is not None else default_state_dir(ctx.root)
    if state.is_relative_to(ctx.root):  # e.g. a linked <root>/var: refused, not followed
        refuse_symlinks(state, stop=ctx.root)
    cmds = Commands(runner or ctx.runner or CommandRunner(), ctx.root)
    lock = contextlib.nullcontext() if lock_held else hold_lock(state, timeout=lock_timeout)
    with lock:
        from tlsprov.install.rollback import recover_locked

        recovered = recover_locked(state, ctx.root, cmds)
        if recovered is not None:
            if recovered.changed:  # the plan saw the half-done files and folders
                raise InstallError(
                    f"{recovered.notes[0]}: the plan made before no longer matches the files",
                    hint="run the install again",
                )
            warnings += (recovered.notes[0], *recovered.warnings)
        _recheck(install_plan)
        changed = [a for a in install_plan.actions if a.changed]
        planned = [journal_command(t, s) for t, s in install_plan.commands()]
        if not changed and not install_plan.tighten_dirs:
            ran = [argv for c in planned if (argv := cmds.run(c)) is not None]
            return InstallResult(
                operation="install",
                changed=False,
                commands=tuple(ran),
                warnings=warnings,
                notes=(NOTHING_TO_DO, *install_plan.notes, *cmds.notes),
            )
        journal = backup.Journal.create(state, ctx.root, [p.target for p in install_plan.plans])
        journal.commands = planned
        journal.labels = dict(labels or {})
        ran_argv: list[tuple[str, ...]] = []
        touched = False  # has a host file or folder been changed yet?
        try:
            journal.save()  # before the first backup copy: a kill from here on is undoable
            for action in changed:
                real = ctx.root.joinpath(*action.path.parts[1:])
                journal.record_file(action.path, real, action.write.content, action.write.secret)
            journal.save()
            touched = True
            _make_dirs(install_plan, journal)
            _tighten_dirs(install_plan, journal)
            for action in changed:
                real = ctx.root.joinpath(*action.path.parts[1:])
                atomic_write(
                    real,
                    action.write.content,
                    mode=action.mode,
                    dir_mode=0o755,
                    owner=_owner(action),
                )
            for cmd in planned:
                cmd.ran = True
                journal.save()
                if (argv := cmds.run(cmd)) is not None:
                    ran_argv.append(argv)
            _final_check(changed, ctx.root)
            if final_check is not None:
                final_check()
            journal.status = backup.STATUS_APPLIED
            journal.save()
        except BaseException as exc:
            _undo(journal, cmds, exc, touched)
            raise
    return InstallResult(
        operation="install",
        changed=True,
        changed_files=tuple(str(a.path) for a in changed),
        backup_dir=journal.folder,
        commands=tuple(ran_argv),
        warnings=warnings,
        notes=(*install_plan.notes, *cmds.notes),
    )


def _undo(journal: backup.Journal, cmds: Commands, exc: BaseException, touched: bool) -> None:
    """Roll back after ``exc``; annotate ``exc`` or raise RollbackError.

    Only a file that could not be restored makes it a RollbackError: when every file is back
    but the journal cannot be marked rolled back (a full state disk), the error says just that
    (the next run's recovery finds nothing left to do).
    """
    original = exc.message if isinstance(exc, TlsprovError) else str(exc)
    try:
        backup.restore(journal)
    except (TlsprovError, OSError) as rb_exc:
        raise RollbackError(
            f"install failed ({original}) and rolling back failed too: {rb_exc}",
            hint=f"restore the files by hand from {journal.folder}",
        ) from exc
    stopping = isinstance(exc, KeyboardInterrupt)  # SIGTERM too: be done before SIGKILL
    _, rerun_warnings = cmds.rerun(journal, STOP_RERUN_TIMEOUT if stopping else None)
    journal.status = backup.STATUS_ROLLED_BACK
    try:
        journal.save()
    except (TlsprovError, OSError) as save_exc:
        why = save_exc.message if isinstance(save_exc, TlsprovError) else str(save_exc)
        rerun_warnings.append(f"its backup journal could not be updated: {why}")
    suffix = "; every change was rolled back"
    if not touched:
        rerun_warnings.insert(0, "no host file had been changed yet")
    if rerun_warnings:
        suffix += " (" + "; ".join(rerun_warnings) + ")"
    if isinstance(exc, TlsprovError):
        exc.message += suffix
        exc.args = (exc.message, *exc.args[1:])
    elif isinstance(exc, Exception):
        raise InstallError(f"install failed: {exc}{suffix}") from exc
    else:  # Ctrl-C or SIGTERM: the CLI shows the note
        exc.add_note(f"the install in progress was rolled back ({journal.folder.name})")
