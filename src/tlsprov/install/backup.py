"""The backup journal: what an install replaced, created and ran, and how to undo it.

Each install that changes files gets ``<state_dir>/backups/<UTC timestamp>/`` (0700) holding
``manifest.json`` and a copy of every replaced file under ``files/``. The manifest is written
before the first file is touched, so even an interrupted install can be rolled back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import stat
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tlsprov.errors import InstallError, RollbackError, TlsprovError
from tlsprov.fsops import (
    PRIVATE_DIR,
    PRIVATE_FILE,
    atomic_write,
    ensure_dir,
    refuse_symlinks,
    stray_temp_files,
)

__all__ = [
    "Journal",
    "JournalCommand",
    "JournalDir",
    "JournalFile",
    "RestoreOutcome",
    "find_latest",
    "restore",
]


def default_state_dir(root: Path) -> Path:
    """``<root>/var/lib/tlsprov``: where backups and the lock live."""
    return root / "var" / "lib" / "tlsprov"


MANIFEST = "manifest.json"
STATUS_PENDING = "in-progress"
STATUS_APPLIED = "applied"
STATUS_ROLLED_BACK = "rolled-back"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(slots=True, kw_only=True)
class JournalFile:
    """One file the install writes: its state before, and the hash of what was written."""

    path: str
    existed: bool
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    backup: str | None = None
    new_sha256: str = ""
    secret: bool = False


@dataclass(slots=True, kw_only=True)
class JournalDir:
    """A folder the install created (removed again by rollback when empty)."""

    path: str
    mode: int | None = None


@dataclass(slots=True, kw_only=True)
class JournalCommand:
    """A planned command; ``ran`` is set just before it starts, so rollback knows which
    targets' services must be told about the restored files."""

    target: str
    argv: list[str]
    cwd: str | None = None
    fallback_argv: list[str] | None = None
    probe_argv: list[str] | None = None
    reason: str = ""
    ran: bool = False
    check_sha256_of: str | None = None
    only_if_check_failed: bool = False


@dataclass(slots=True, kw_only=True)
class Journal:
    """The manifest of one install, kept in ``folder / manifest.json``.

    ``labels`` are notes of the caller's (``provision`` names the lineage version it
    installed), read back by the rollback hooks of :mod:`tlsprov.install.rollback`.
    """

    folder: Path
    root: str
    status: str = STATUS_PENDING
    created: str = ""
    targets: list[str] = field(default_factory=list)
    files: list[JournalFile] = field(default_factory=list)
    created_dirs: list[JournalDir] = field(default_factory=list)
    tightened_dirs: list[JournalDir] = field(default_factory=list)
    commands: list[JournalCommand] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, state_dir: Path, root: Path, targets: Sequence[str]) -> Journal:
        """Make a new, empty backup folder named by the current UTC time (microseconds)."""
        backups = state_dir / "backups"
        refuse_symlinks(backups, stop=state_dir)
        ensure_dir(backups, PRIVATE_DIR)
        now = dt.datetime.now(dt.UTC)
        while True:
            folder = backups / now.strftime("%Y%m%dT%H%M%S.%fZ")
            try:
                folder.mkdir(mode=PRIVATE_DIR)
                break
            except FileExistsError:
                now += dt.timedelta(microseconds=1)
            except OSError as exc:  # before any file was touched
                what = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
                raise InstallError(
                    f"cannot create the backup folder {folder}: {what}; nothing was changed",
                    hint="free space or fix the state folder, then run again",
                ) from exc
        os.chmod(folder, PRIVATE_DIR)
        return cls(folder=folder, root=str(root), created=now.isoformat(), targets=list(targets))

    @classmethod
    def load(cls, folder: Path) -> Journal:
        """Read ``folder / manifest.json``.

        Raises:
            RollbackError: the manifest is missing or unreadable.
        """
        try:
            data: dict[str, Any] = json.loads((folder / MANIFEST).read_text("utf-8"))
            return cls(
                folder=folder,
                root=str(data["root"]),
                status=str(data["status"]),
                created=str(data.get("created", "")),
                targets=list(data.get("targets", [])),
                files=[JournalFile(**f) for f in data.get("files", [])],
                created_dirs=[JournalDir(**d) for d in data.get("created_dirs", [])],
                tightened_dirs=[JournalDir(**d) for d in data.get("tightened_dirs", [])],
                commands=[JournalCommand(**c) for c in data.get("commands", [])],
                labels={str(k): str(v) for k, v in data.get("labels", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RollbackError(
                f"the backup manifest {folder / MANIFEST} is unreadable ({exc})",
                hint="restore the files by hand from that folder",
            ) from exc

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to disk."""
        return {
            "version": 1,
            "root": self.root,
            "status": self.status,
            "created": self.created,
            "targets": self.targets,
            "files": [asdict(f) for f in self.files],
            "created_dirs": [asdict(d) for d in self.created_dirs],
            "tightened_dirs": [asdict(d) for d in self.tightened_dirs],
            "commands": [asdict(c) for c in self.commands],
            "labels": self.labels,
        }

    def save(self) -> None:
        """Write the manifest atomically (0600)."""
        text = json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"
        atomic_write(self.folder / MANIFEST, text.encode(), mode=PRIVATE_FILE, dir_mode=PRIVATE_DIR)

    def record_file(self, host_path: PurePosixPath, real: Path, new: bytes, secret: bool) -> None:
        """Note a file about to be written; copy it into the backup first when it exists."""
        entry = JournalFile(
            path=str(host_path), existed=False, new_sha256=sha256(new), secret=secret
        )
        try:
            st = real.lstat()
        except FileNotFoundError:
            self.files.append(entry)
            return
        name = f"{len(self.files):04d}"
        atomic_write(
            self.folder / "files" / name, real.read_bytes(), mode=PRIVATE_FILE, dir_mode=PRIVATE_DIR
        )
        entry.existed = True
        entry.mode = stat.S_IMODE(st.st_mode)
        entry.uid, entry.gid = st.st_uid, st.st_gid
        entry.backup = name
        self.files.append(entry)


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    """What a restore put back."""

    restored: tuple[str, ...]
    removed: tuple[str, ...]
    warnings: tuple[str, ...]


def _join(root: Path, host_path: str) -> Path:
    parts = PurePosixPath(host_path).parts
    return root.joinpath(*parts[1:])


def _holds(real: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> bool:
    """True when ``real`` is a regular file with exactly this content, mode and owner."""
    try:
        st = real.lstat()
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != mode:
            return False
        if owner is not None and (st.st_uid, st.st_gid) != owner:
            return False
        return real.read_bytes() == data
    except OSError:
        return False


KEPT = "changed-after-install"


def _read_backups(journal: Journal) -> dict[int, bytes]:
    """Every backup copy the restore needs, read before the first file is touched.

    Raises:
        RollbackError: a copy is missing or unreadable; nothing was changed.
    """
    copies: dict[int, bytes] = {}
    missing: list[str] = []
    for index, entry in enumerate(journal.files):
        if not entry.existed or entry.backup is None:
            continue
        copy = journal.folder / "files" / entry.backup
        try:
            copies[index] = copy.read_bytes()
        except OSError as exc:
            missing.append(f"{entry.path} ({copy}: {exc.strerror or exc})")
    if missing:
        raise RollbackError(
            "cannot roll back: the backup of " + "; ".join(missing) + " is missing or "
            "unreadable; nothing was changed",
            hint=f"put the missing copy back into {journal.folder / 'files'}, or restore by hand",
        )
    return copies


def _keep_edit(journal: Journal, entry: JournalFile, real: Path, backup: bytes | None) -> str:
    """Copy a file edited after the install into the backup folder; the warning to show."""
    if real.is_symlink() or not real.is_file():
        return ""
    data = real.read_bytes()
    if not entry.new_sha256 or sha256(data) == entry.new_sha256 or data == backup:
        return ""  # as the install left it, or already restored by an earlier rollback
    kept = journal.folder / KEPT / entry.path.lstrip("/")
    if not kept.exists():  # never overwrite the edit an earlier, failed rollback kept
        atomic_write(kept, data, mode=PRIVATE_FILE, dir_mode=PRIVATE_DIR)
    return f"{entry.path} changed after the install; your version is kept as {kept}"


def restore(journal: Journal, *, check_changed: bool = False) -> RestoreOutcome:
    """Put back every file of ``journal`` byte for byte; remove what the install created.

    Every backup copy is read first: when one is missing nothing is touched.

    Args:
        journal: the install to undo.
        check_changed: keep (in the backup folder, with a warning) files that differ from what
            a completed install wrote, before they are restored or removed.

    Raises:
        RollbackError: a backup copy is missing (nothing changed), or a file could not be
            restored (the others are still attempted).
    """
    root = Path(journal.root)
    copies = _read_backups(journal)
    restored: list[str] = []
    removed: list[str] = []
    warnings: list[str] = []
    failures: list[str] = []
    for index in reversed(range(len(journal.files))):
        entry = journal.files[index]
        real = _join(root, entry.path)
        for tmp in stray_temp_files(real):  # left by an install killed mid-write
            with contextlib.suppress(OSError):
                tmp.unlink()
        try:
            if check_changed and journal.status == STATUS_APPLIED:
                kept = _keep_edit(journal, entry, real, copies.get(index))
                if kept:
                    warnings.append(kept)
            if index in copies:
                data = copies[index]
                owner = None
                if entry.uid is not None and entry.gid is not None and os.geteuid() == 0:
                    owner = (entry.uid, entry.gid)
                mode = entry.mode if entry.mode is not None else 0o644
                if _holds(real, data, mode, owner):  # never replaced (or already restored)
                    continue
                atomic_write(real, data, mode=mode, owner=owner)
                restored.append(entry.path)
            elif real.is_symlink() or real.exists():
                real.unlink()
                removed.append(entry.path)
        except (OSError, TlsprovError) as exc:
            failures.append(f"{entry.path}: {exc}")
    for folder in reversed(journal.created_dirs):
        real = _join(root, folder.path)
        try:
            real.rmdir()
            removed.append(folder.path + "/")
        except FileNotFoundError:
            pass
        except OSError:
            warnings.append(f"kept the folder {folder.path}: it holds files tlsprov did not write")
    for folder in reversed(journal.tightened_dirs):  # made 0700 for a key: the old mode back
        real = _join(root, folder.path)
        try:
            if folder.mode is not None and real.is_dir() and not real.is_symlink():
                os.chmod(real, folder.mode)
        except OSError as exc:
            failures.append(f"the mode of {folder.path}: {exc.strerror or exc}")
    if failures:
        raise RollbackError(
            "could not restore " + "; ".join(failures),
            hint=f"restore these files by hand from {journal.folder}",
        )
    return RestoreOutcome(tuple(restored), tuple(removed), tuple(warnings))


def find_latest(state_dir: Path) -> Journal | None:
    """The newest backup that has not been rolled back yet, or None.

    A backup folder without a manifest belongs to an install stopped before it wrote its
    first manifest, so before it touched any file: it comes back as an empty in-progress
    journal (``root`` empty), which restores nothing.
    """
    backups = state_dir / "backups"
    if not backups.is_dir():
        return None
    for folder in sorted(backups.iterdir(), reverse=True):
        if not folder.is_dir() or folder.is_symlink():
            continue
        if not (folder / MANIFEST).is_file():
            return Journal(folder=folder, root="")
        journal = Journal.load(folder)
        if journal.status != STATUS_ROLLED_BACK:
            return journal
    return None
