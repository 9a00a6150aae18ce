"""Frozen value types shared by every wing, the providers and the installer targets.

Issuance: :class:`CertificateRequest` in, :class:`IssuedBundle` out. Installation: a target hands
back a :class:`Plan` of :class:`FileWrite` and :class:`CommandStep`, given an
:class:`InstallContext`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from tlsprov.errors import InputError

if TYPE_CHECKING:
    from tlsprov.runner import CommandRunner

__all__ = [
    "CertificateRequest",
    "CommandStep",
    "FileWrite",
    "IPAddress",
    "InstallContext",
    "IssuedBundle",
    "KeyType",
    "Plan",
    "Usage",
]

IPAddress = IPv4Address | IPv6Address


class KeyType(enum.Enum):
    """Private key algorithms; the values are the CLI spellings."""

    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    RSA4096 = "rsa4096"
    EC256 = "ec256"
    EC384 = "ec384"
    ED25519 = "ed25519"

    @property
    def is_rsa(self) -> bool:
        """True for the RSA key types."""
        return self.value.startswith("rsa")

    @classmethod
    def parse(cls, text: str) -> KeyType:
        """Return the key type spelled ``text`` (case-insensitive) or raise InputError."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(k.value for k in cls)
            raise InputError(f"unknown key type '{text}'; choose one of: {choices}") from None


class Usage(enum.Enum):
    """What the certificate is for: a TLS server or a TLS client."""

    SERVER = "server"
    CLIENT = "client"
    SERVER_AND_CLIENT = "server-and-client"  # one pair used both ways (Harbor's internal TLS)

    @property
    def server(self) -> bool:
        """True when the certificate must carry serverAuth."""
        return self is not Usage.CLIENT

    @property
    def client(self) -> bool:
        """True when the certificate must carry clientAuth."""
        return self is not Usage.SERVER


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRequest:
    """What to certify.

    Build it with :func:`tlsprov.make_request`, which parses and normalises names; the
    constructor only checks invariants.

    Attributes:
        dns_names: DNS names as A-labels, lower case; the first is the subject CN.
        ip_addresses: IP addresses, written as IP SANs (never as DNS names).
        usage: ``Usage.SERVER`` (serverAuth) or ``Usage.CLIENT`` (clientAuth).
        key_type: the key to generate; ``None`` means the provider's default.
        validity_days: requested lifetime; ``None`` means the provider's default.
    """

    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()
    usage: Usage = Usage.SERVER
    key_type: KeyType | None = None
    validity_days: int | None = None

    def __post_init__(self) -> None:
        if not self.dns_names and not self.ip_addresses:
            raise InputError("a certificate needs at least one name or IP address")
        if self.validity_days is not None and self.validity_days < 1:
            raise InputError(
                f"validity must be at least 1 day, got {self.validity_days}",
                hint="pass --days with a positive number",
            )

    @property
    def primary_name(self) -> str:
        """The first DNS name, else the first IP address, as text."""
        if self.dns_names:
            return self.dns_names[0]
        return str(self.ip_addresses[0])

    @property
    def identities(self) -> tuple[str, ...]:
        """Every name and address as text, DNS names first."""
        if not self.ip_addresses:
            return self.dns_names
        return self.dns_names + tuple(map(str, self.ip_addresses))


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedBundle:
    """An issued certificate with everything an installer needs.

    Attributes:
        private_key_pem: the leaf's private key, PKCS#8 PEM. Never shown by ``repr``.
        leaf_pem: the leaf certificate, PEM.
        chain_pem: intermediate certificates (leaf excluded), issuer of the leaf first.
        ca_pem: the certificate clients must trust (a root, or the last chain element).
    """

    private_key_pem: bytes = field(repr=False)
    leaf_pem: bytes
    chain_pem: tuple[bytes, ...] = ()
    ca_pem: bytes

    @property
    def fullchain_pem(self) -> bytes:
        """Leaf then intermediates: what a TLS server sends (``H.crt``)."""
        parts = [self.leaf_pem, *self.chain_pem]
        return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWrite:
    """Write ``content`` at ``path`` (an absolute host path; the installer joins it to the root).

    Attributes:
        path: absolute path as seen on the host, e.g. ``/data/cert/harbor.test.key``.
        content: the bytes to write. Hidden from ``repr`` (it may be a key).
        mode: permission bits of the file.
        secret: a private key: written 0600 in a 0700 folder, never shown in a plan or diff.
        dir_mode: mode for folders the installer creates for this file. For a secret with a
            private ``dir_mode`` (0700), an existing folder open to others is tightened too;
            a wider one (Harbor's own ``secret/cert``, 0755) keeps its owner's layout.
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
        check_sha256_of: makes the step a check: it passes when it exits 0 and prints the
            sha256 of this host file (as it is when the check runs). A failed check does not
            stop the install; it selects the ``only_if_check_failed`` steps after it.
        only_if_check_failed: run only when the target's last check failed (a repair).
    """

    argv: tuple[str, ...]
    cwd: PurePosixPath | None = None
    reason: str = ""
    fallback_argv: tuple[str, ...] | None = None
    probe_argv: tuple[str, ...] | None = None
    always: bool = False
    check_sha256_of: PurePosixPath | None = None
    only_if_check_failed: bool = False


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
        harbor_dir_setting: how the user sets ``harbor_dir`` in the running command, for
            hints (``--harbor-dir`` for ``install``, ``[harbor] install_dir`` in the config).
        harbor_reload: ``auto`` (renew without prepare when harbor.yml need not change) or
            ``prepare`` (always Harbor's prepare, down and up).
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
    harbor_dir_setting: str = "--harbor-dir"
    harbor_reload: str = "auto"

    @property
    def registry(self) -> str:
        """``host`` or ``host:port``: how image references (and certs.d folders) name it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"

    def host_path(self, path: PurePosixPath | str) -> Path:
        """Join an absolute host path to the root."""
        p = PurePosixPath(path)
        return self.root.joinpath(*p.parts[1:]) if p.is_absolute() else self.root / p
