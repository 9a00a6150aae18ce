"""``tlsprov.toml``: find it, parse it, validate it into a frozen :class:`Config`.

Core validates only core keys. ``[provider.<name>]`` goes verbatim to that provider's factory,
which rejects unknown keys itself. Secrets may be written as ``{env = "VAR"}`` or
``{file = "/path"}``; they are resolved by :func:`resolve_secret` when needed, never here.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError
from tlsprov.x509util import parse_identity

__all__ = [
    "Config",
    "HarborConfig",
    "InstallConfig",
    "RenewBefore",
    "RenewConfig",
    "find_config",
    "load_config",
    "resolve_secret",
]

ENV_VAR = "TLSPROV_CONFIG"
SEARCH_PATHS = (Path("tlsprov.toml"), Path("/etc/tlsprov/tlsprov.toml"))
DEFAULT_TARGETS = ("harbor", "docker")

_SECTIONS: dict[str, frozenset[str]] = {
    "harbor": frozenset({"hostname", "https_port", "alt_names", "install_dir", "data_volume"}),
    "provider": frozenset({"name"}),
    "install": frozenset(
        {"root", "targets", "client_only", "verify", "verify_timeout", "restart_docker", "connect"}
    ),
    "renew": frozenset({"before", "pre_hook", "deploy_hook", "post_hook"}),
    "state": frozenset({"dir"}),
}


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
class HarborConfig:
    """``[harbor]``: the registry as clients see it."""

    hostname: str
    https_port: int = 443
    alt_names: tuple[str, ...] = ()
    install_dir: PurePosixPath = PurePosixPath("/opt/harbor")
    data_volume: PurePosixPath | None = None


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
        state_dir: the state folder as a host path (joined to ``install.root`` when used).
        warnings: unknown keys and other non-fatal findings.
    """

    source: Path | None
    harbor: HarborConfig
    provider_name: str
    provider_options: Mapping[str, Any] = field(repr=False)
    install: InstallConfig = field(default_factory=InstallConfig)
    renew: RenewConfig = field(default_factory=RenewConfig)
    state_dir: PurePosixPath = PurePosixPath("/var/lib/tlsprov")
    warnings: tuple[str, ...] = ()

    @property
    def state_path(self) -> Path:
        """The state folder joined to the install root."""
        return self.install.root.joinpath(*self.state_dir.parts[1:])


def find_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path:
    """Locate the config: ``path``, then ``$TLSPROV_CONFIG``, then ``./tlsprov.toml``, then
    ``/etc/tlsprov/tlsprov.toml``.

    Raises:
        ConfigError: an explicit path does not exist, or nothing was found.
    """
    env = os.environ if environ is None else environ
    for explicit, origin in ((path, "--config"), (env.get(ENV_VAR), ENV_VAR)):
        if explicit:
            candidate = Path(explicit)
            if not candidate.is_file():
                raise ConfigError(
                    f"config file {candidate} (from {origin}) does not exist",
                    hint="check the path",
                )
            return candidate
    base = cwd if cwd is not None else Path.cwd()
    for candidate in SEARCH_PATHS:
        full = candidate if candidate.is_absolute() else base / candidate
        if full.is_file():
            return full
    raise ConfigError(
        "no config file found (looked at --config, $TLSPROV_CONFIG, ./tlsprov.toml, "
        "/etc/tlsprov/tlsprov.toml)",
        hint="write a tlsprov.toml (see docs/configuration.md) or pass --config FILE",
    )


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Find, parse and validate the config.

    Args:
        path: an explicit file; otherwise the search order of :func:`find_config`.
        environ: the environment (injectable for tests).
        overrides: CLI flags that win over the file: ``root`` (install root).

    Raises:
        ConfigError: naming the file, the key and what is allowed.
    """
    source = find_config(path, environ=environ)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML ({exc})", source=str(source), hint="fix the syntax"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read it ({exc})", source=str(source)) from exc
    return parse_config(raw, source=source, overrides=overrides)


def parse_config(
    raw: Mapping[str, Any],
    *,
    source: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Validate an already-parsed TOML document (see :func:`load_config`)."""
    v = _Validator(str(source) if source else "<config>")
    for key in raw:
        if key not in _SECTIONS:
            v.warn(key, f"unknown section; known: {', '.join(sorted(_SECTIONS))}")
    harbor = v.table(raw, "harbor", required=True)
    provider = v.table(raw, "provider", required=True)
    install = v.table(raw, "install")
    renew = v.table(raw, "renew")
    state = v.table(raw, "state")

    hostname = v.string(harbor, "harbor.hostname", required=True)
    assert hostname is not None
    _check_host(v, "harbor.hostname", hostname)
    alt_names = v.string_list(harbor, "harbor.alt_names")
    for alt in alt_names:
        _check_host(v, "harbor.alt_names", alt)
    harbor_cfg = HarborConfig(
        hostname=hostname,
        https_port=v.port(harbor, "harbor.https_port", 443),
        alt_names=alt_names,
        install_dir=v.abs_path(harbor, "harbor.install_dir") or PurePosixPath("/opt/harbor"),
        data_volume=v.abs_path(harbor, "harbor.data_volume"),
    )

    name = v.string(provider, "provider.name", required=True)
    assert name is not None
    options: dict[str, Any] = {}
    for key, value in provider.items():
        if key == "name":
            continue
        if key == name:
            if not isinstance(value, dict):
                raise v.error(f"provider.{key}", "must be a table of the provider's options")
            options = dict(value)
        elif isinstance(value, dict):
            v.warn(f"provider.{key}", f"options for a provider other than '{name}' are ignored")
        else:
            v.warn(f"provider.{key}", f"unknown key; provider options go in [provider.{name}]")

    root_raw = str((overrides or {}).get("root") or v.string(install, "install.root") or "/")
    targets = v.string_list(install, "install.targets") or DEFAULT_TARGETS
    install_cfg = InstallConfig(
        root=Path(root_raw),
        targets=targets,
        client_only=v.boolean(install, "install.client_only", False),
        verify=v.boolean(install, "install.verify", True),
        verify_timeout=v.number(install, "install.verify_timeout", 60.0),
        restart_docker=v.boolean(install, "install.restart_docker", False),
        connect=v.string(install, "install.connect"),
    )
    renew_cfg = RenewConfig(
        before=_renew_before(v, renew.get("before")),
        pre_hook=v.string(renew, "renew.pre_hook"),
        deploy_hook=v.string(renew, "renew.deploy_hook"),
        post_hook=v.string(renew, "renew.post_hook"),
    )
    state_dir = v.abs_path(state, "state.dir") or PurePosixPath("/var/lib/tlsprov")
    for section, table in (
        ("harbor", harbor),
        ("provider", {}),
        ("install", install),
        ("renew", renew),
        ("state", state),
    ):
        for key in table:
            if key not in _SECTIONS[section]:
                allowed = ", ".join(sorted(_SECTIONS[section]))
                v.warn(f"{section}.{key}", f"unknown key; allowed: {allowed}")
    return Config(
        source=source,
        harbor=harbor_cfg,
        provider_name=name,
        provider_options=options,
        install=install_cfg,
        renew=renew_cfg,
        state_dir=state_dir,
        warnings=tuple(v.warnings),
    )


def resolve_secret(
    value: object, *, key: str, environ: Mapping[str, str] | None = None
) -> str | None:
    """Resolve a secret given literally, as ``{env = "VAR"}`` or as ``{file = "/path"}``.

    Raises:
        ConfigError: the variable is unset, the file unreadable, or the form unknown.
    """
    if value is None or isinstance(value, str):
        return value
    env = os.environ if environ is None else environ
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, ref),) = value.items()
        if kind == "env" and isinstance(ref, str):
            if ref not in env:
                raise ConfigError(
                    f"environment variable {ref} is not set",
                    key=key,
                    hint=f"export {ref} or give the value another way",
                )
            return env[ref]
        if kind == "file" and isinstance(ref, str):
            try:
                return Path(ref).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"cannot read secret file {ref} ({exc.strerror})",
                    key=key,
                    hint="check the path and its permissions",
                ) from exc
    raise ConfigError('a secret must be a string, {env = "VAR"} or {file = "/path"}', key=key)


_BEFORE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|d|days?)?\s*$")


def _renew_before(v: _Validator, value: object) -> RenewBefore:
    if value is None:
        return RenewBefore()
    if isinstance(value, bool):
        raise v.error("renew.before", 'must be a percentage like "33%" or days like 30')
    if isinstance(value, int):
        if value < 1:
            raise v.error("renew.before", "days must be at least 1")
        return RenewBefore(days=value)
    match = _BEFORE.match(value) if isinstance(value, str) else None
    if match is None:
        raise v.error("renew.before", f'{value!r} is not a percentage ("33%") or days (30)')
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        if not 0 < number < 100:
            raise v.error("renew.before", "a percentage must be between 0 and 100")
        return RenewBefore(fraction=number / 100)
    if number < 1 or number != int(number):
        raise v.error("renew.before", "days must be a whole number of at least 1")
    return RenewBefore(days=int(number))


def _check_host(v: _Validator, key: str, value: str) -> None:
    from tlsprov.errors import InputError

    try:
        parse_identity(value)
    except InputError as exc:
        raise v.error(key, exc.message) from None


class _Validator:
    """Typed accessors that raise ConfigError naming the file and key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.warnings: list[str] = []

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, key=key)

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.source}: {key}: {message}")

    def table(self, raw: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
        value = raw.get(key)
        if value is None:
            if required:
                raise self.error(key, f"missing [{key}] section")
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{key}])")
        return value

    def string(self, table: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
        value = table.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                raise self.error(key, "is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be a non-empty string")
        return value

    def string_list(self, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = table.get(key.rsplit(".", 1)[-1])
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
            raise self.error(key, "must be a list of strings")
        return tuple(value)

    def boolean(self, table: Mapping[str, Any], key: str, default: bool) -> bool:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def number(self, table: Mapping[str, Any], key: str, default: float) -> float:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.error(key, "must be a positive number")
        return float(value)

    def port(self, table: Mapping[str, Any], key: str, default: int) -> int:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise self.error(key, "must be a port number from 1 to 65535")
        return value

    def abs_path(self, table: Mapping[str, Any], key: str) -> PurePosixPath | None:
        value = self.string(table, key)
        if value is None:
            return None
        path = PurePosixPath(value)
        if not path.is_absolute() or ".." in path.parts:
            raise self.error(key, "must be an absolute path without '..'")
        return path
