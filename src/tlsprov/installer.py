"""The install engine: validate, plan every target, back up, write atomically, run, check.

Targets only describe what they want (:class:`tlsprov.plan.Plan`); this module applies those
plans safely. Any failure after the first write rolls everything back before the error is
raised, and :func:`tlsprov.rollback.rollback_last` undoes the newest install on demand.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from tlsprov import backup
from tlsprov.errors import InstallError, RollbackError, TlsprovError, VerifyError
from tlsprov.fsops import atomic_write, refuse_symlinks
from tlsprov.installplan import FileAction, InstallPlan, assess, plan_install
from tlsprov.lockfile import hold_lock
from tlsprov.plan import CommandStep
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

NOTHING_TO_DO = "nothing to do: every file is already in place"


def default_state_dir(root: Path) -> Path:
    """``<root>/var/lib/tlsprov``: where backups and the lock live."""
    return root / "var" / "lib" / "tlsprov"


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


def render_plan(install_plan: InstallPlan) -> list[str]:
    """The plan as human lines: files (with diffs), commands in order, warnings, notes."""
    from tlsprov.planrender import render_lines

    return render_lines(install_plan)


class _Commands:
    """Resolves fallbacks (``docker compose`` → ``docker-compose``) and runs steps."""

    def __init__(self, runner: CommandRunner, root: Path) -> None:
        self.runner = runner
        self.root = root
        self._probes: dict[tuple[str, ...], bool] = {}

    def cwd(self, cwd: str | None) -> Path | None:
        return None if cwd is None else self.root.joinpath(*PurePosixPath(cwd).parts[1:])

    def resolve(self, cmd: backup.JournalCommand) -> tuple[str, ...]:
        argv = tuple(cmd.argv)
        if cmd.fallback_argv is None:
            return argv
        cwd = self.cwd(cmd.cwd)
        if self.runner.which(argv[0], cwd) is None:
            return tuple(cmd.fallback_argv)
        if cmd.probe_argv is not None:
            probe = tuple(cmd.probe_argv)
            if probe not in self._probes:
                self._probes[probe] = self.runner.succeeds(probe, cwd=cwd)
            if not self._probes[probe]:
                return tuple(cmd.fallback_argv)
        return argv

    def run(self, cmd: backup.JournalCommand) -> tuple[str, ...]:
        argv = self.resolve(cmd)
        self.runner.run(argv, cwd=self.cwd(cmd.cwd))
        return argv

    def rerun(self, journal: backup.Journal) -> tuple[list[tuple[str, ...]], list[str]]:
        """Best effort: run again the commands of each target that had started.

        A target's re-run stops at its first failing command: after a failed ``./prepare`` a
        ``docker compose down`` would take a still-running Harbor down for nothing.
        """
        started = {c.target for c in journal.commands if c.ran}
        failed: set[str] = set()
        done: list[tuple[str, ...]] = []
        warnings: list[str] = []
        for cmd in journal.commands:
            if cmd.target not in started or cmd.target in failed:
                continue
            try:
                done.append(self.run(cmd))
            except TlsprovError as exc:
                failed.add(cmd.target)
                warnings.append(
                    f"after restoring, {exc.one_line()}; the remaining {cmd.target} commands "
                    "were not run again"
                )
        return done, warnings


def _journal_command(target: str, step: CommandStep) -> backup.JournalCommand:
    return backup.JournalCommand(
        target=target,
        argv=list(step.argv),
        cwd=str(step.cwd) if step.cwd is not None else None,
        fallback_argv=list(step.fallback_argv) if step.fallback_argv else None,
        probe_argv=list(step.probe_argv) if step.probe_argv else None,
        reason=step.reason,
    )


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

    Raises:
        LockedError: another run holds the lock.
        InputError: a symlink appeared at a planned path (nothing written).
        InstallError: a write, command or check failed; the message says it was rolled back.
        RollbackError: the failure could not be rolled back completely.
    """
    ctx = install_plan.context
    warnings = install_plan.warnings
    if dry_run:
        from tlsprov.rollback import pending_warning

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
    cmds = _Commands(runner or ctx.runner or CommandRunner(), ctx.root)
    lock = contextlib.nullcontext() if lock_held else hold_lock(state, timeout=lock_timeout)
    with lock:
        from tlsprov.rollback import recover_locked

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
        planned = [_journal_command(t, s) for t, s in install_plan.commands()]
        if not changed:
            ran = [cmds.run(c) for c in planned]
            return InstallResult(
                operation="install",
                changed=False,
                commands=tuple(ran),
                warnings=warnings,
                notes=(NOTHING_TO_DO, *install_plan.notes),
            )
        journal = backup.Journal.create(state, ctx.root, [p.target for p in install_plan.plans])
        journal.commands = planned
        ran_argv: list[tuple[str, ...]] = []
        try:
            journal.save()  # before the first backup copy: a kill from here on is undoable
            for action in changed:
                real = ctx.root.joinpath(*action.path.parts[1:])
                journal.record_file(action.path, real, action.write.content, action.write.secret)
            journal.save()
            _make_dirs(install_plan, journal)
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
                ran_argv.append(cmds.run(cmd))
            _final_check(changed, ctx.root)
            if final_check is not None:
                final_check()
            journal.status = backup.STATUS_APPLIED
            journal.save()
        except BaseException as exc:
            _undo(journal, cmds, exc)
            raise
    return InstallResult(
        operation="install",
        changed=True,
        changed_files=tuple(str(a.path) for a in changed),
        backup_dir=journal.folder,
        commands=tuple(ran_argv),
        warnings=warnings,
        notes=install_plan.notes,
    )


def _undo(journal: backup.Journal, cmds: _Commands, exc: BaseException) -> None:
    """Roll back after ``exc``; annotate ``exc`` or raise RollbackError."""
    try:
        backup.restore(journal)
        _, rerun_warnings = cmds.rerun(journal)
        journal.status = backup.STATUS_ROLLED_BACK
        journal.save()
    except (TlsprovError, OSError) as rb_exc:
        original = exc.message if isinstance(exc, TlsprovError) else str(exc)
        raise RollbackError(
            f"install failed ({original}) and rolling back failed too: {rb_exc}",
            hint=f"restore the files by hand from {journal.folder}",
        ) from exc
    suffix = "; every change was rolled back"
    if rerun_warnings:
        suffix += " (" + "; ".join(rerun_warnings) + ")"
    if isinstance(exc, TlsprovError):
        exc.message += suffix
        exc.args = (exc.message, *exc.args[1:])
    elif isinstance(exc, Exception):
        raise InstallError(f"install failed: {exc}{suffix}") from exc
