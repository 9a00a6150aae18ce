"""What an installer target hands back: a :class:`Plan` of file writes and commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tlsprov.models import IssuedBundle
    from tlsprov.runner import CommandRunner

__all__ = ["CommandStep", "FileWrite", "InstallContext", "Plan"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWrite:
    """Write ``content`` at ``path`` (an absolute host path; the installer joins it to the root).

    Attributes:
        path: absolute path as seen on the host, e.g. ``/data/cert/harbor.test.key``.
        content: the bytes to write. Hidden from ``repr`` (it may be a key).
        mode: permission bits of the file.
        secret: a private key: written 0600 in a 0700 folder, never shown in a plan or diff.
        dir_mode: mode for folders the installer creates for this file.
        owner: optional ``(uid, gid)``.
        description: a few words for the plan ("Harbor's server key").
    """

    path: PurePosixPath
    content: bytes = field(repr=False)
    mode: int = 0o644
    secret: bool = False
    dir_mode: int = 0o755
    owner: tuple[int, int] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.path.is_absolute():
            raise ValueError(f"plan paths must be absolute host paths: {self.path}")
        if ".." in self.path.parts:
            raise ValueError(f"plan paths must not contain '..': {self.path}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandStep:
    """Run a command after the files are written, when the target changed something.

    Attributes:
        argv: the command; ``argv[0]`` is looked up on PATH, or relative to ``cwd`` if it
            starts with ``./``.
        cwd: absolute host path to run in (joined to the root), or None.
        reason: why it runs, shown in the plan.
        fallback_argv: run this instead when ``probe_argv`` fails or ``argv[0]`` is missing
            (``docker compose`` → ``docker-compose``).
        probe_argv: a cheap command whose success selects ``argv`` over ``fallback_argv``.
        always: run even when none of the target's files changed.
    """

    argv: tuple[str, ...]
    cwd: PurePosixPath | None = None
    reason: str = ""
    fallback_argv: tuple[str, ...] | None = None
    probe_argv: tuple[str, ...] | None = None
    always: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything one target will do.

    Attributes:
        target: the target's name.
        writes: files to write, in order.
        commands: commands to run after every file of every target is written.
        warnings: things the user should know (a lone ``.key`` in certs.d, ...).
        notes: informational lines (why Docker is or is not restarted, ...).
    """

    target: str
    writes: tuple[FileWrite, ...] = ()
    commands: tuple[CommandStep, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallContext:
    """What targets know about the installation besides the bundle.

    Attributes:
        root: the folder every host path is joined to (``/`` in production).
        host: the registry host name or IP address clients use.
        port: the HTTPS port clients use (443 means no port in certs.d folder names).
        alt_names: further names and IP addresses the certificate must cover.
        harbor_dir: Harbor's install folder (holds harbor.yml and prepare).
        data_volume: Harbor's data volume; ``None`` means read it from harbor.yml.
        client_only: this host is a client of the registry, not the Harbor host.
        client_bundle: a clientAuth bundle to install as ``client.cert``/``client.key``.
        restart_docker: the user asked for a Docker restart.
        runner: runs external commands (only for read-only probes at plan time).
        os_trust_changed: set by the installer when the os-trust target will change the
            trust store (Docker then needs a restart).
    """

    root: Path
    host: str
    port: int = 443
    alt_names: tuple[str, ...] = ()
    harbor_dir: PurePosixPath = PurePosixPath("/opt/harbor")
    data_volume: PurePosixPath | None = None
    client_only: bool = False
    client_bundle: IssuedBundle | None = None
    restart_docker: bool = False
    runner: CommandRunner | None = None
    os_trust_changed: bool = False

    @property
    def registry(self) -> str:
        """``host`` or ``host:port``: how image references (and certs.d folders) name it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"

    def host_path(self, path: PurePosixPath | str) -> Path:
        """Join an absolute host path to the root."""
        p = PurePosixPath(path)
        return self.root.joinpath(*p.parts[1:]) if p.is_absolute() else self.root / p
