"""Typed accessors for ``tlsprov.toml`` values that fail with a ConfigError naming file and key."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError
from tlsprov.lifecycle.schema import InternalTlsConfig, RenewBefore
from tlsprov.pki.x509 import parse_identity, port_suffix

__all__ = ["Validator", "check_host", "internal_tls", "renew_before", "target_tables"]

_INTERNAL_KEYS = frozenset({"enabled", "dir", "key_type", "days", "ca_days", "with_trivy"})
_MAX_DAYS = 36525

_TARGET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_BEFORE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|d|days?)?\s*$")


def renew_before(v: Validator, value: object) -> RenewBefore:
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


def target_tables(v: Validator, targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``[targets.NAME]`` tables, each the settings of one target (checked by the registry)."""
    tables: dict[str, dict[str, Any]] = {}
    for name, value in targets.items():
        if not _TARGET_NAME.match(name):
            raise v.error(f"targets.{name}", "is not a target name (lower case, digits, '-')")
        if not isinstance(value, dict):
            raise v.error(f"targets.{name}", f"must be a table ([targets.{name}])")
        tables[name] = dict(value)
    return tables


def check_host(v: Validator, key: str, value: str) -> None:
    from tlsprov.errors import InputError

    split = port_suffix(value)
    if split is not None:
        fix = (
            f'write hostname = "{split[0]}" and https_port = {split[1]} in [harbor]'
            if key == "harbor.hostname"
            else f"list the name alone ({split[0]}); the port is [harbor] https_port"
        )
        raise v.error(key, f"'{value}' includes a port; {fix}")
    try:
        parse_identity(value)
    except InputError as exc:
        raise v.error(key, exc.message) from None


class Validator:
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

    def number(
        self, table: Mapping[str, Any], key: str, default: float, *, maximum: float = math.inf
    ) -> float:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.error(key, "must be a positive number")
        if value > maximum:
            raise self.error(key, f"must be at most {maximum:g}, got {value:g}")
        return float(value)

    def whole(self, table: Mapping[str, Any], key: str, default: int, *, maximum: int) -> int:
        value = table.get(key.rsplit(".", 1)[-1], default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            raise self.error(key, f"must be a whole number from 1 to {maximum}")
        return value

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


def internal_tls(v: Validator, table: Mapping[str, Any]) -> InternalTlsConfig:
    """``[harbor.internal_tls]`` (an empty table means internal TLS is not managed)."""
    from tlsprov.errors import InputError
    from tlsprov.models import KeyType

    key = "harbor.internal_tls"
    for name in table:
        if name not in _INTERNAL_KEYS:
            raise v.error(
                f"{key}.{name}", f"unknown key; allowed: {', '.join(sorted(_INTERNAL_KEYS))}"
            )
    defaults = InternalTlsConfig()
    key_type = v.string(table, f"{key}.key_type") or defaults.key_type
    try:
        KeyType.parse(key_type)
    except InputError as exc:
        raise v.error(f"{key}.key_type", exc.message) from None
    days = v.whole(table, f"{key}.days", defaults.days, maximum=_MAX_DAYS)
    ca_days = v.whole(table, f"{key}.ca_days", defaults.ca_days, maximum=_MAX_DAYS)
    if ca_days <= days:
        raise v.error(
            f"{key}.ca_days",
            f"the internal CA ({ca_days} days) must outlive its leaves ({days} days), or "
            "every renewal would need a new CA",
        )
    trivy = table.get("with_trivy")
    if trivy is not None and not isinstance(trivy, bool):
        raise v.error(f"{key}.with_trivy", "must be true or false")
    return InternalTlsConfig(
        enabled=v.boolean(table, f"{key}.enabled", False),
        dir=v.abs_path(table, f"{key}.dir") or defaults.dir,
        key_type=key_type.strip().lower(),
        days=days,
        ca_days=ca_days,
        with_trivy=trivy,
    )
