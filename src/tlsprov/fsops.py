"""Safe file writing: atomic replace, private modes whatever the umask, no symlink following."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from tlsprov.errors import InputError, InstallError

__all__ = [
    "atomic_write",
    "ensure_dir",
    "refuse_symlinks",
    "stray_temp_files",
    "write_private",
]

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
TEMP_TAG = ".tlsprov-tmp-"  # atomic_write's temp file: .<name>.tlsprov-tmp-<pid>


def refuse_symlinks(path: Path, *, stop: Path | None = None) -> None:
    """Raise InputError if ``path`` or any existing parent below ``stop`` is a symlink."""
    path = Path(os.path.abspath(path))
    stop_at = Path(os.path.abspath(stop)) if stop is not None else None
    current = path
    while True:
        if stop_at is not None and current == stop_at:
            return
        if current.is_symlink():
            raise InputError(
                f"refusing to write through the symbolic link {current}",
                hint="remove the link or point tlsprov at the real folder",
            )
        if current.parent == current:
            return
        current = current.parent


def ensure_dir(path: Path, mode: int = 0o755) -> list[Path]:
    """Create ``path`` and missing parents with ``mode`` (umask ignored); return what was made.

    Existing folders keep their mode, except that a folder meant to be private (0700) is
    tightened when it is looser.
    """
    created: list[Path] = []
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=mode)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise InstallError(
                    f"cannot create folder {folder}: the disk is full",
                    hint="free space, then run again",
                ) from exc
            raise InputError(
                f"cannot create folder {folder}: {exc.strerror or exc}",
                hint="choose a writable location",
            ) from exc
        os.chmod(folder, mode)
        created.append(folder)
    if not path.is_dir():
        raise InputError(f"{path} exists and is not a folder", hint="choose another folder")
    if mode == PRIVATE_DIR and stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, PRIVATE_DIR)
    return created


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o644,
    dir_mode: int = 0o755,
    owner: tuple[int, int] | None = None,
) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync and rename.

    The file gets exactly ``mode`` whatever the umask. A symlink at ``path`` is refused, not
    followed. Raises InstallError on an OS failure (disk full, read-only folder) and leaves
    ``path`` as it was.
    """
    if path.is_symlink():
        raise InputError(
            f"refusing to replace the symbolic link {path}",
            hint="remove the link or point tlsprov at the real file",
        )
    folder = path.parent
    try:
        ensure_dir(folder, dir_mode)
        tmp = folder / f".{path.name}{TEMP_TAG}{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, owner[0], owner[1])
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.close(fd)
        try:
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(folder)
    except OSError as exc:
        what = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
        raise InstallError(
            f"could not write {path}: {what}",
            hint="free space or fix the folder's permissions, then run again",
        ) from exc


def stray_temp_files(path: Path) -> list[Path]:
    """Temp files an interrupted :func:`atomic_write` of ``path`` left next to it."""
    prefix = f".{path.name}{TEMP_TAG}"
    try:
        return sorted(p for p in path.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def write_private(path: Path, data: bytes) -> None:
    """Write a private key: 0600 in a 0700 folder, atomically."""
    atomic_write(path, data, mode=PRIVATE_FILE, dir_mode=PRIVATE_DIR)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
