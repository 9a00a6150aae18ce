"""The frozen shape of a validated ``tlsprov.toml``: :class:`Config` and its sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "DEFAULT_TARGETS",
    "Config",
    "HarborConfig",
    "InstallConfig",
    "InternalTlsConfig",
    "RenewBefore",
    "RenewConfig",
]

DEFAULT_TARGETS = ("harbor", "docker")


@dataclass(frozen=True, slots=True)
class RenewBefore:
    """When to renew: a fraction of the lifetime left, or a number of days left."""

    fraction: float | None = None
    days: int | None = None

    def due(self, lifetime_s: float, remaining_s: float) -> bool:
        """True when a certificate with this much lifetime and time left should be renewed."""
        if self.days is not None:
            return remaining_s <= self.days * 86400
        return remaining_s <= lifetime_s * (self.fraction if self.fraction is not None else 1 / 3)

    def describe(self) -> str:
        """``"33% of lifetime"`` or ``"30 days"``."""
        if self.days is not None:
            return f"{self.days} days"
        return f"{round((self.fraction or 1 / 3) * 100)}% of lifetime"


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalTlsConfig:
    """``[harbor.internal_tls]``: certificates between Harbor's own components.

    Attributes:
        enabled: manage Harbor's internal TLS set.
        dir: harbor.yml's ``internal_tls.dir``, where Harbor reads the set.
        key_type: the leaves' and the internal CA's key type (CLI spelling).
        days: the leaves' lifetime.
        ca_days: the internal CA's lifetime, much longer so renewing leaves keeps the CA.
        with_trivy: issue ``trivy_adapter``; ``None`` detects it from docker-compose.yml.
    """

    enabled: bool = False
    dir: PurePosixPath = PurePosixPath("/etc/harbor/tls/internal")
    key_type: str = "rsa4096"
    days: int = 365
    ca_days: int = 3650
    with_trivy: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HarborConfig:
    """``[harbor]``: the registry as clients see it."""

    hostname: str
    https_port: int = 443
    alt_names: tuple[str, ...] = ()
    install_dir: PurePosixPath = PurePosixPath("/opt/harbor")
    data_volume: PurePosixPath | None = None
    internal_tls: InternalTlsConfig = field(default_factory=InternalTlsConfig)
    reload: str = "auto"  # "auto": renew without prepare when harbor.yml need not change


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallConfig:
    """``[install]``: where and what to install."""

    root: Path = Path("/")
    targets: tuple[str, ...] = DEFAULT_TARGETS
    client_only: bool = False
    verify: bool = True
    verify_timeout: float = 60.0
    restart_docker: bool = False
    connect: str | None = None
    command_timeout: float | None = None  # None: each step's own default


@dataclass(frozen=True, slots=True, kw_only=True)
class RenewConfig:
    """``[renew]``: the renewal window and hooks."""

    before: RenewBefore = field(default_factory=RenewBefore)
    pre_hook: str | None = None
    deploy_hook: str | None = None
    post_hook: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """A validated configuration.

    Attributes:
        source: the file it came from (``None`` when built in code).
        provider_name: ``[provider] name``; always explicit.
        provider_options: ``[provider.<name>]`` verbatim, for the provider's factory.
        target_options: ``[targets.<name>]`` tables verbatim, for each target's factory.
        state_dir: the state folder as a host path (joined to ``install.root`` when used).
        warnings: unknown keys and other non-fatal findings.
    """

    source: Path | None
    harbor: HarborConfig
    provider_name: str
    provider_options: Mapping[str, Any] = field(repr=False)
    install: InstallConfig = field(default_factory=InstallConfig)
    renew: RenewConfig = field(default_factory=RenewConfig)
    target_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    state_dir: PurePosixPath = PurePosixPath("/var/lib/tlsprov")
    warnings: tuple[str, ...] = ()

    @property
    def options_source(self) -> str | None:
        """The config file as errors about plugin options name it."""
        return str(self.source) if self.source is not None else None

    @property
    def state_path(self) -> Path:
        """The state folder joined to the install root."""
        return self.install.root.joinpath(*self.state_dir.parts[1:])
