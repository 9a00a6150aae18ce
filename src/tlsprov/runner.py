"""Run external commands: PATH lookup, timeout, captured output, one clear error."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tlsprov.errors import CommandError

if TYPE_CHECKING:
    import subprocess

__all__ = ["DEFAULT_TIMEOUT", "CommandResult", "CommandRunner", "Terminated", "on_sigterm"]

_TAIL_CHARS = 400
#: Seconds a command may run when neither the runner nor the call sets a timeout.
DEFAULT_TIMEOUT = 600.0
_DRAIN = 5.0  # seconds to collect the output of a killed command


class Terminated(KeyboardInterrupt):
    """SIGTERM (systemd's stop), raised in the main thread by :func:`on_sigterm`: whatever is
    in flight is killed and rolled back as on Ctrl-C."""


_spawning = 0  # > 0 while a command is being started: a stop then waits until it can be killed
_stop_pending = False


def on_sigterm(signum: int, frame: object) -> None:
    """The SIGTERM handler the CLI installs. A second SIGTERM is a no-op, so the rollback can
    finish (a Python handler, not SIG_IGN, which the re-run commands would inherit)."""
    global _stop_pending
    signal.signal(signal.SIGTERM, _after_stop)
    if _spawning:
        _stop_pending = True
        return
    raise Terminated()


def _after_stop(signum: int, frame: object) -> None:
    """A second SIGTERM while rolling back: ignored (SIGKILL stays final)."""


@contextlib.contextmanager
def _starting() -> Iterator[None]:
    global _spawning, _stop_pending
    _spawning += 1
    try:
        yield
    finally:
        _spawning -= 1
        if not _spawning and _stop_pending:
            _stop_pending = False
            raise Terminated()


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
        timeout: seconds before a command is killed, for every command; ``None`` leaves it to
            each call (the installer's per-step defaults), else :data:`DEFAULT_TIMEOUT`.
        env: extra environment variables for the commands.

    A command runs in its own process group: at the timeout, or when tlsprov itself is
    stopped, the whole group is killed, so nothing it started keeps running.
    """

    def __init__(
        self,
        *,
        path: str | None = None,
        timeout: float | None = None,
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
        import subprocess  # here, not at the top: the CLI imports this module for on_sigterm

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
        limit = timeout if timeout is not None else self.timeout or DEFAULT_TIMEOUT
        try:
            returncode, raw = _execute([exe, *argv[1:]], cwd, env, limit)
        except subprocess.TimeoutExpired as exc:
            out = (exc.output or b"").decode("utf-8", "replace")
            where = f" (in {cwd})" if cwd is not None else ""
            raise CommandError(
                f"'{shown}'{where} timed out after {limit:g} s and was killed",
                argv=argv,
                returncode=None,
                output_tail=out[-_TAIL_CHARS:],
                hint="check why it hangs, or raise --command-timeout / [install] command_timeout",
            ) from exc
        except OSError as exc:
            raise CommandError(
                f"could not run '{shown}': {exc.strerror}", argv=argv, returncode=None
            ) from exc
        output = raw.decode("utf-8", "replace")
        result = CommandResult(tuple(argv), returncode, output)
        if check and returncode != 0:
            tail = " | ".join(line for line in output.strip().splitlines()[-3:])
            raise CommandError(
                f"'{shown}' failed with exit code {returncode}"
                + (f": {tail[-_TAIL_CHARS:]}" if tail else ""),
                argv=argv,
                returncode=returncode,
                output_tail=output[-_TAIL_CHARS:],
            )
        return result

    def succeeds(self, argv: Sequence[str], *, cwd: Path | None = None) -> bool:
        """True when ``argv`` exists and exits 0 (a cheap probe; never raises)."""
        try:
            return (
                self.run(
                    argv, cwd=cwd, timeout=min(self.timeout or 30.0, 30.0), check=False
                ).returncode
                == 0
            )
        except CommandError:
            return False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _execute(
    argv: list[str], cwd: Path | None, env: dict[str, str], limit: float
) -> tuple[int, bytes]:
    """Run ``argv`` in a new process group; return its exit code and output.

    Raises:
        subprocess.TimeoutExpired: it ran longer than ``limit`` (the group was killed).
    """
    import subprocess

    proc: subprocess.Popen[bytes] | None = None
    try:
        with _starting():  # a SIGTERM now is raised once ``proc`` is known, so it is killed
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            out, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired as exc:
            _kill_group(proc)
            try:  # a child that left the group may still hold the pipe: bounded
                rest, _ = proc.communicate(timeout=_DRAIN)
            except subprocess.TimeoutExpired:
                rest = b""
            exc.output = (exc.output or b"") + (rest or b"")
            raise
        return proc.returncode, out or b""
    except BaseException:  # a timeout, SIGTERM or Ctrl-C in tlsprov: the command goes too
        if proc is not None:
            _kill_group(proc)
        raise
    finally:
        if proc is not None:
            if proc.stdout is not None:
                proc.stdout.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=_DRAIN)
