"""The ``[provider.intermediate-ca]`` options, validated before any file is read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tlsprov

__all__ = ["ALLOWED", "IntermediateOptions"]

SOURCE = "provider.intermediate-ca"
ALLOWED = ("ca_cert", "ca_key", "root_cert", "key_type", "days", "ca_key_passphrase")
DEFAULT_KEY_TYPE = tlsprov.KeyType.EC256
DEFAULT_DAYS = 365


def config_error(key: str, message: str, *, hint: str | None = None) -> tlsprov.ConfigError:
    """A ConfigError naming this provider's option table and ``key``."""
    return tlsprov.ConfigError(message, source=SOURCE, key=key, hint=hint)


def _path(options: Mapping[str, Any], key: str, *, required: bool) -> Path | None:
    value = options.get(key)
    if value is None or value == "":
        if required:
            raise config_error(key, "is required", hint=f"set {key} to the path of a PEM file")
        return None
    if not isinstance(value, str | os.PathLike):
        raise config_error(key, f"must be a path, got {type(value).__name__}")
    return Path(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntermediateOptions:
    """The provider's parsed options.

    Attributes:
        ca_cert: PEM file holding the issuing (intermediate) CA certificate, optionally
            followed by the certificates above it (its issuer first).
        ca_key: PEM file holding the issuing CA's private key.
        root_cert: PEM file with the certificate clients trust; ``None`` means the last
            certificate of ``ca_cert`` (the intermediate itself when the file holds only it).
        key_type: key type of issued certificates unless the request names one.
        days: validity of issued certificates unless the request names one; never past the
            issuing CA's own expiry.
        ca_key_passphrase: the key's passphrase as text, ``{env = "VAR"}`` or
            ``{file = "/path"}``; resolved only when the key is read. Never shown by ``repr``.
    """

    ca_cert: Path
    ca_key: Path
    root_cert: Path | None = None
    key_type: tlsprov.KeyType = DEFAULT_KEY_TYPE
    days: int = DEFAULT_DAYS
    ca_key_passphrase: object = field(default=None, repr=False)

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> IntermediateOptions:
        """Validate a raw options mapping (the config table or CLI options).

        Raises:
            ConfigError: an unknown option, a missing path, or a value of the wrong kind.
        """
        unknown = sorted(str(k) for k in options if k not in ALLOWED)
        if unknown:
            raise config_error(
                unknown[0],
                f"unknown option(s) {', '.join(unknown)}",
                hint=f"allowed options: {', '.join(ALLOWED)}",
            )
        ca_cert = _path(options, "ca_cert", required=True)
        ca_key = _path(options, "ca_key", required=True)
        assert ca_cert is not None and ca_key is not None  # required=True never returns None
        key_type = options.get("key_type", DEFAULT_KEY_TYPE)
        try:
            if not isinstance(key_type, tlsprov.KeyType):
                key_type = tlsprov.KeyType.parse(str(key_type))
        except tlsprov.InputError as exc:
            raise config_error("key_type", exc.message) from exc
        days = options.get("days", DEFAULT_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise config_error("days", f"must be a whole number of days >= 1, got {days!r}")
        return cls(
            ca_cert=ca_cert,
            ca_key=ca_key,
            root_cert=_path(options, "root_cert", required=False),
            key_type=key_type,
            days=days,
            ca_key_passphrase=options.get("ca_key_passphrase"),
        )

    def passphrase(self) -> bytes | None:
        """The resolved passphrase, or ``None`` when none was given.

        Raises:
            ConfigError: the variable is unset, the file unreadable or the form unknown.
        """
        from tlsprov.config import resolve_secret

        value = resolve_secret(self.ca_key_passphrase, key=f"{SOURCE}.ca_key_passphrase")
        return None if value is None else value.encode("utf-8")
