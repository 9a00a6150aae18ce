"""Running a plan's commands: fallbacks resolved once, per-step timeouts, checks and
repairs, re-runs after a restore."""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from tlsprov.errors import TlsprovError
from tlsprov.install import backup
from tlsprov.models import CommandStep
from tlsprov.runner import CommandRunner

__all__ = ["STEP_TIMEOUTS", "Commands", "journal_command", "step_timeout"]

#: Default seconds per program when the runner has no timeout of its own (``--command-timeout``
#: / ``[install] command_timeout``): Harbor's first ``./prepare`` pulls an image, trust-store
#: updates and service restarts are quick. Anything else gets ``runner.DEFAULT_TIMEOUT``.
STEP_TIMEOUTS = {
    "prepare": 900.0,
    "docker": 600.0,
    "docker-compose": 600.0,
    "systemctl": 300.0,
    "update-ca-certificates": 300.0,
    "update-ca-trust": 300.0,
    "trust": 300.0,
}


def step_timeout(argv: tuple[str, ...]) -> float:
    """The default timeout of the command ``argv`` (by program name)."""
    from tlsprov.runner import DEFAULT_TIMEOUT

    return STEP_TIMEOUTS.get(PurePosixPath(argv[0]).name, DEFAULT_TIMEOUT)


class Commands:
    """Resolves fallbacks (``docker compose`` → ``docker-compose``) and runs steps.

    A check step (``check_sha256_of``) that fails is remembered per target and selects the
    repair steps (``only_if_check_failed``) after it; :attr:`notes` says why each repair ran.
    """

    def __init__(self, runner: CommandRunner, root: Path) -> None:
        self.runner = runner
        self.root = root
        self.notes: list[str] = []
        self._probes: dict[tuple[str, ...], bool] = {}
        self._failed_check: dict[str, str] = {}  # target -> what the last failed check saw

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

    def run(
        self, cmd: backup.JournalCommand, timeout: float | None = None
    ) -> tuple[str, ...] | None:
        """Run one step; None when it is a repair its check did not ask for."""
        seen = self._failed_check.get(cmd.target)
        if cmd.only_if_check_failed and seen is None:
            return None
        argv = self.resolve(cmd)
        limit = timeout
        if limit is None and self.runner.timeout is None:
            limit = step_timeout(argv)
        if cmd.check_sha256_of is not None:
            self._check(cmd, argv, cmd.check_sha256_of, limit)
            return argv
        self.runner.run(argv, cwd=self.cwd(cmd.cwd), timeout=limit)
        if cmd.only_if_check_failed:
            self.notes.append(f"{seen}, so '{' '.join(argv)}' ran: {cmd.reason}")
        return argv

    def _check(
        self,
        cmd: backup.JournalCommand,
        argv: tuple[str, ...],
        host_path: str,
        timeout: float | None,
    ) -> None:
        self._failed_check.pop(cmd.target, None)
        real = self.root.joinpath(*PurePosixPath(host_path).parts[1:])
        try:
            wanted: str | None = hashlib.sha256(real.read_bytes()).hexdigest()
        except OSError:
            wanted = None
        result = self.runner.run(argv, cwd=self.cwd(cmd.cwd), check=False, timeout=timeout)
        if result.returncode == 0 and wanted is not None and wanted in result.output.split():
            return
        if result.returncode != 0:
            tail = " ".join(result.output.strip().splitlines()[-1:])[-200:]
            how = f"exit code {result.returncode}" + (f": {tail}" if tail else "")
        else:
            how = "it shows other content"
        self._failed_check[cmd.target] = f"'{' '.join(argv)}' does not show {host_path} ({how})"

    def rerun(
        self, journal: backup.Journal, timeout: float | None = None
    ) -> tuple[list[tuple[str, ...]], list[str]]:
        """Best effort: run again the commands of each target that had started.

        A target's re-run stops at its first failing command: after a failed ``./prepare`` a
        ``docker compose down`` would take a still-running Harbor down for nothing.
        ``timeout`` bounds each command (after SIGTERM, within the service manager's patience).
        """
        started = {c.target for c in journal.commands if c.ran}
        failed: set[str] = set()
        done: list[tuple[str, ...]] = []
        warnings: list[str] = []
        for cmd in journal.commands:
            if cmd.target not in started or cmd.target in failed:
                continue
            try:
                argv = self.run(cmd, timeout)
            except TlsprovError as exc:
                failed.add(cmd.target)
                warnings.append(
                    f"after restoring, {exc.one_line()}; the remaining {cmd.target} commands "
                    "were not run again"
                )
                continue
            if argv is not None:
                done.append(argv)
        return done, warnings


def journal_command(target: str, step: CommandStep) -> backup.JournalCommand:
    return backup.JournalCommand(
        target=target,
        argv=list(step.argv),
        cwd=str(step.cwd) if step.cwd is not None else None,
        fallback_argv=list(step.fallback_argv) if step.fallback_argv else None,
        probe_argv=list(step.probe_argv) if step.probe_argv else None,
        reason=step.reason,
        check_sha256_of=str(step.check_sha256_of) if step.check_sha256_of else None,
        only_if_check_failed=step.only_if_check_failed,
    )
