"""Running a plan's commands: fallbacks resolved once, per-step timeouts, re-runs after a
restore."""

from __future__ import annotations

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

    def run(self, cmd: backup.JournalCommand, timeout: float | None = None) -> tuple[str, ...]:
        argv = self.resolve(cmd)
        limit = timeout
        if limit is None and self.runner.timeout is None:
            limit = step_timeout(argv)
        self.runner.run(argv, cwd=self.cwd(cmd.cwd), timeout=limit)
        return argv

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
                done.append(self.run(cmd, timeout))
            except TlsprovError as exc:
                failed.add(cmd.target)
                warnings.append(
                    f"after restoring, {exc.one_line()}; the remaining {cmd.target} commands "
                    "were not run again"
                )
        return done, warnings


def journal_command(target: str, step: CommandStep) -> backup.JournalCommand:
    return backup.JournalCommand(
        target=target,
        argv=list(step.argv),
        cwd=str(step.cwd) if step.cwd is not None else None,
        fallback_argv=list(step.fallback_argv) if step.fallback_argv else None,
        probe_argv=list(step.probe_argv) if step.probe_argv else None,
        reason=step.reason,
    )
