"""One lock per state folder, so two installs or rollbacks never interleave."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from tlsprov.errors import InstallError, LockedError
from tlsprov.fsops import PRIVATE_DIR, ensure_dir, refuse_symlinks

__all__ = ["LOCK_NAME", "hold_lock"]

LOCK_NAME = "lock"
_POLL = 0.05
_HOLDER_WAIT = 0.5


def _holder(fd: int) -> str:
    """The holder's pid; the holder writes it just after taking the lock, so wait a moment."""
    deadline = time.monotonic() + _HOLDER_WAIT
    while True:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 64).decode("ascii", "replace").strip()
        except OSError:
            return "unknown"
        if text.isdigit():
            return text
        if time.monotonic() >= deadline:
            return "unknown"
        time.sleep(0.01)


@contextlib.contextmanager
def hold_lock(state_dir: Path, *, timeout: float = 0.0) -> Iterator[Path]:
    """Hold ``<state_dir>/lock`` (``fcntl.flock``) for the duration of the ``with`` block.

    The holder's pid is written into the lock file so a waiting run can name it.

    Args:
        state_dir: the state folder; created (0700) when missing.
        timeout: seconds to wait for a busy lock; 0 fails at once.

    Raises:
        LockedError: another process still holds the lock after ``timeout`` seconds.
        InputError: ``state_dir`` is a symbolic link.
    """
    refuse_symlinks(state_dir, stop=state_dir.parent)  # a planted link is refused, not followed
    try:
        ensure_dir(state_dir, PRIVATE_DIR)
        path = state_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise InstallError(
            f"cannot open the lock file in {state_dir}: {exc.strerror}",
            hint="check the state folder's permissions or pass another --state-dir",
        ) from exc
    try:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"another tlsprov run (pid {_holder(fd)}) holds the lock {path}",
                        hint="wait for it to finish and run again",
                    ) from None
                time.sleep(_POLL)
        with contextlib.suppress(OSError):  # the pid only names the holder: a full disk is ok
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
