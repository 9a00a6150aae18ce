"""``tlsprov.toml``: find it, parse it, validate it into a frozen :class:`Config`.

Core validates only core keys. ``[provider.<name>]`` goes verbatim to that provider's factory,
which rejects unknown keys itself. Secrets may be written as ``{env = "VAR"}`` or
``{file = "/path"}``; they are resolved by :func:`resolve_secret` when needed, never here.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError
from tlsprov.lifecycle.schema import (
    DEFAULT_TARGETS,
    Config,
    HarborConfig,
    InstallConfig,
    RenewBefore,
    RenewConfig,
)
from tlsprov.lifecycle.validate import (
    Validator,
    check_host,
    internal_tls,
    reload_mode,
    renew_before,
    target_tables,
)

__all__ = [
    "DEFAULT_TARGETS",
    "ENV_VAR",
    "SEARCH_PATHS",
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

_SECTIONS: dict[str, frozenset[str]] = {
    "harbor": frozenset(
        {
            "hostname",
            "https_port",
            "alt_names",
            "install_dir",
            "data_volume",
            "internal_tls",
            "reload",
        }
    ),
    "provider": frozenset({"name"}),
    "install": frozenset(
        {
            "root",
            "targets",
            "client_only",
            "verify",
            "verify_timeout",
            "restart_docker",
            "connect",
            "command_timeout",
        }
    ),
    "renew": frozenset({"before", "pre_hook", "deploy_hook", "post_hook"}),
    "state": frozenset({"dir"}),
}
#: Sections holding one table per plugin: ``[targets.NAME]``.
_PLUGIN_TABLES = ("targets",)


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
            if candidate.is_dir():
                inside = candidate / "tlsprov.toml"
                how = (
                    f"pass --config {inside}" if origin == "--config" else f"set {origin}={inside}"
                )
                raise ConfigError(
                    f"config {candidate} (from {origin}) is a folder, not a file",
                    hint=how if inside.is_file() else "name the tlsprov.toml file itself",
                )
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
    v = Validator(str(source) if source else "<config>")
    for key in raw:
        if key not in _SECTIONS and key not in _PLUGIN_TABLES:
            known = ", ".join(sorted([*_SECTIONS, *_PLUGIN_TABLES]))
            v.warn(key, f"unknown section; known: {known}")
    harbor = v.table(raw, "harbor", required=True)
    provider = v.table(raw, "provider", required=True)
    install = v.table(raw, "install")
    renew = v.table(raw, "renew")
    state = v.table(raw, "state")

    hostname = v.string(harbor, "harbor.hostname", required=True)
    assert hostname is not None
    check_host(v, "harbor.hostname", hostname)
    alt_names = v.string_list(harbor, "harbor.alt_names")
    for alt in alt_names:
        check_host(v, "harbor.alt_names", alt)
    harbor_cfg = HarborConfig(
        hostname=hostname,
        https_port=v.port(harbor, "harbor.https_port", 443),
        alt_names=alt_names,
        install_dir=v.abs_path(harbor, "harbor.install_dir") or PurePosixPath("/opt/harbor"),
        data_volume=v.abs_path(harbor, "harbor.data_volume"),
        internal_tls=internal_tls(v, v.table(harbor, "internal_tls")),
        reload=reload_mode(v, harbor),
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

    file_root = v.abs_path(install, "install.root")  # never relative to the current folder
    root_raw = str((overrides or {}).get("root") or file_root or "/")
    targets = v.string_list(install, "install.targets")
    if "targets" in install and not targets:
        raise v.error("install.targets", "is empty; list at least one target or leave it out")
    targets = targets or DEFAULT_TARGETS
    install_cfg = InstallConfig(
        root=Path(root_raw),
        targets=targets,
        client_only=v.boolean(install, "install.client_only", False),
        verify=v.boolean(install, "install.verify", True),
        verify_timeout=v.number(install, "install.verify_timeout", 60.0, maximum=3600),
        restart_docker=v.boolean(install, "install.restart_docker", False),
        connect=v.string(install, "install.connect"),
        command_timeout=(
            v.number(install, "install.command_timeout", 1.0)
            if "command_timeout" in install
            else None
        ),
    )
    renew_cfg = RenewConfig(
        before=renew_before(v, renew.get("before")),
        pre_hook=v.string(renew, "renew.pre_hook"),
        deploy_hook=v.string(renew, "renew.deploy_hook"),
        post_hook=v.string(renew, "renew.post_hook"),
    )
    state_dir = v.abs_path(state, "state.dir") or PurePosixPath("/var/lib/tlsprov")
    target_options = target_tables(v, v.table(raw, "targets"))
    for unused in sorted(set(target_options) - set(targets)):
        v.warn(f"targets.{unused}", "settings for a target not in [install] targets are ignored")
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
        target_options=target_options,
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
