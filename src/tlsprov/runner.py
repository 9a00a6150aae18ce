"""Run external commands: PATH lookup, timeout, captured output, one clear error."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tlsprov.errors import CommandError

__all__ = ["CommandResult", "CommandRunner"]

_TAIL_CHARS = 400


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a finished command returned."""

    argv: tuple[str, ...]
    returncode: int
    output: str


class CommandRunner:
    """Runs every external command tlsprov needs (``./prepare``, ``docker``, ``systemctl``, ...).

    Args:
        path: the PATH to search; ``None`` uses the environment's. Tests put recording programs
            first on it.
        timeout: seconds before a command is killed.
        env: extra environment variables for the commands.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        timeout: float = 600.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.path = path if path is not None else os.environ.get("PATH", os.defpath)
        self.timeout = timeout
        self.env = dict(env or {})

    def which(self, program: str, cwd: Path | None = None) -> str | None:
        """Resolve ``program`` on PATH, or relative to ``cwd`` when it contains a slash."""
        if "/" in program:
            candidate = (
                (cwd / program)
                if cwd is not None and not program.startswith("/")
                else Path(program)
            )
            return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
        return shutil.which(program, path=self.path)

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        timeout: float | None = None,
        check: bool = True,
    ) -> CommandResult:
        """Run ``argv`` and return its result.

        Raises:
            CommandError: the program is missing, timed out, or (with ``check``) exited non-zero.
                The error names the command, its exit code and the tail of its output.
        """
        shown = " ".join(argv)
        exe = self.which(argv[0], cwd)
        if exe is None:
            raise CommandError(
                f"command not found: {argv[0]}",
                argv=argv,
                returncode=None,
                hint=f"install {argv[0]} or put it on PATH",
            )
        env = {**os.environ, "PATH": self.path, **self.env}
        limit = self.timeout if timeout is None else timeout
        try:
            proc = subprocess.run(
                [exe, *argv[1:]],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=limit,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.output or b"").decode("utf-8", "replace")
            raise CommandError(
                f"'{shown}' timed out after {limit:g} s",
                argv=argv,
                returncode=None,
                output_tail=out[-_TAIL_CHARS:],
                hint="check why it hangs, or raise the timeout",
            ) from exc
        except OSError as exc:
            raise CommandError(
                f"could not run '{shown}': {exc.strerror}", argv=argv, returncode=None
            ) from exc
        output = proc.stdout.decode("utf-8", "replace")
        result = CommandResult(tuple(argv), proc.returncode, output)
        if check and proc.returncode != 0:
            tail = " | ".join(line for line in output.strip().splitlines()[-3:])
            raise CommandError(
                f"'{shown}' failed with exit code {proc.returncode}"
                + (f": {tail[-_TAIL_CHARS:]}" if tail else ""),
                argv=argv,
                returncode=proc.returncode,
                output_tail=output[-_TAIL_CHARS:],
            )
        return result

    def succeeds(self, argv: Sequence[str], *, cwd: Path | None = None) -> bool:
        """True when ``argv`` exists and exits 0 (a cheap probe; never raises)."""
        try:
            return (
                self.run(argv, cwd=cwd, timeout=min(self.timeout, 30.0), check=False).returncode
                == 0
            )
        except CommandError:
            return False
