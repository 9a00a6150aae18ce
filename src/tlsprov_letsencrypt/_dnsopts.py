"""The dns-01 publisher options: which one (``dns``) and dns-lexicon's own options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tlsprov.errors import ConfigError
from tlsprov.lifecycle.config import resolve_secret

__all__ = ["LEXICON_PREFIX", "dns_kind", "lexicon_options", "require_lexicon"]

DNS_KINDS = ("hook", "rfc2136", "lexicon")
LEXICON_PREFIX = "lexicon."  # flat keys from the command line: -o lexicon.auth_token=...


def _err(key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, source="provider.letsencrypt", key=key, hint=hint)


def _text(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(key, f"must be a non-empty string, got {value!r}")
    return value.strip().lower()


def dns_kind(
    options: Mapping[str, Any], challenge: str, lexicon_provider: str | None
) -> str | None:
    """``dns`` as given, else what the other dns-01 options imply (None for http-01)."""
    given = _text(options, "dns")
    if given is not None:
        if given not in DNS_KINDS:
            raise _err("dns", f"unknown {given!r}", hint=f"choose {', '.join(DNS_KINDS)}")
        if challenge != "dns-01":
            raise _err("dns", "dns is for the dns-01 challenge only")
        return given
    if challenge != "dns-01":
        return None
    if lexicon_provider is not None:
        return "lexicon"
    return "hook" if options.get("dns_hook") else "rfc2136"


def lexicon_options(options: Mapping[str, Any]) -> dict[str, str]:
    """The dns-lexicon provider's options: the ``lexicon`` table plus ``lexicon.KEY`` keys.

    Values may be secrets (``{env = "VAR"}``, ``{file = "/path"}``); they are read here.
    """
    table = options.get("lexicon") or {}
    if not isinstance(table, Mapping):
        raise _err("lexicon", "must be a table of the dns-lexicon provider's options")
    merged: dict[str, Any] = dict(table)
    merged.update(
        {str(k)[len(LEXICON_PREFIX):]: v for k, v in options.items()
         if str(k).startswith(LEXICON_PREFIX)}
    )  # fmt: skip
    out: dict[str, str] = {}
    for key, value in merged.items():
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        secret = resolve_secret(value, key=f"lexicon.{key}")
        if secret is None:
            continue
        out[key] = secret
    return out


def require_lexicon() -> None:
    """Fail at configuration time, before any order, when the optional extra is missing."""
    import importlib.util

    try:
        found = importlib.util.find_spec("lexicon.client") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise _err(
            "dns",
            "dns = lexicon needs the dns-lexicon package, which is not installed",
            hint="install tlsprov[lexicon] (pip install 'tlsprov[lexicon]')",
        )
