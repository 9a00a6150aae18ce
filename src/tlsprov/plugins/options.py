"""Plugin options: declared on a spec, given as ``-o KEY=VALUE`` or a config table, checked here.

A spec that declares its options (``options=(OptionSpec(...), ...)``) gets them checked by the
host: unknown keys and wrong types are a :class:`ConfigError` naming the file, the table and the
key, and declared defaults are filled in. A spec that declares nothing (``options=None``) gets
every option passed through untouched.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tlsprov.errors import ConfigError

__all__ = ["OPTION_TYPES", "OptionSpec", "check_options", "parse_assignment", "table_name"]

#: The types an option may declare, as TOML spells their values.
OPTION_TYPES: dict[type, str] = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}
#: An option name, or ``TABLE.KEY`` for a key of one of the provider's tables (``lexicon.token``).
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionSpec:
    """One option a provider or target declares.

    Attributes:
        name: the key in ``-o KEY=VALUE`` and in the ``[provider.NAME]`` / ``[targets.NAME]``
            table.
        type: ``str``, ``int``, ``float``, ``bool``, ``list`` or ``dict`` (``float`` also takes
            a whole number).
        default: filled in when the option is not given; ``None`` leaves it out.
        help: one line for ``tlsprov plugins NAME``.
    """

    name: str
    type: type = str
    default: Any = None
    help: str = ""

    def __post_init__(self) -> None:
        if not _KEY.match(self.name):
            raise ValueError(f"option name {self.name!r} must match {_KEY.pattern}")
        if self.type not in OPTION_TYPES:
            allowed = ", ".join(t.__name__ for t in OPTION_TYPES)
            raise ValueError(f"option {self.name!r}: type must be one of {allowed}")
        if self.default is not None and _wrong_type(self.type, self.default):
            raise ValueError(f"option {self.name!r}: default {self.default!r} is not {self.kind}")

    @property
    def kind(self) -> str:
        """The type in words (``"a whole number"``)."""
        return OPTION_TYPES[self.type]

    def to_json(self) -> dict[str, Any]:
        """The declaration as ``tlsprov plugins --json`` shows it."""
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "help": self.help,
        }


def _wrong_type(kind: type, value: object) -> bool:
    if kind is float:
        return isinstance(value, bool) or not isinstance(value, int | float)
    if kind is int:
        return isinstance(value, bool) or not isinstance(value, int)
    return not isinstance(value, kind)


def table_name(kind: str, name: str) -> str:
    """``[provider.NAME]`` or ``[targets.NAME]``: where a plugin's options live in the config."""
    return f"[provider.{name}]" if kind == "provider" else f"[targets.{name}]"


def check_options(
    kind: str,
    name: str,
    declared: Sequence[OptionSpec] | None,
    options: Mapping[str, Any],
    *,
    source: str | None = None,
) -> dict[str, Any]:
    """Check ``options`` against the declaration; return them with the defaults filled in.

    Args:
        kind: ``provider`` or ``target``.
        name: the provider or target name.
        declared: the spec's declaration; ``None`` passes every option through.
        options: what the user gave.
        source: where the options came from (the config file, or ``-o`` on the command line).

    Raises:
        ConfigError: ``source: [provider.NAME] KEY: what is wrong``, with the allowed keys.
    """
    given = dict(options)
    if declared is None:
        return given
    table = table_name(kind, name)
    by_name = {o.name: o for o in declared}
    for key, value in given.items():
        spec = by_name.get(key)
        if spec is None:
            allowed = ", ".join(sorted(by_name)) or "none"
            raise ConfigError(
                f"unknown option for {kind} '{name}'",
                source=source,
                key=f"{table} {key}",
                hint=f"its options are: {allowed} (see tlsprov plugins {name})",
            )
        if _wrong_type(spec.type, value):
            raise ConfigError(
                f"must be {spec.kind}, got {value!r}",
                source=source,
                key=f"{table} {key}",
                hint=spec.help or None,
            )
        if spec.type is float:
            given[key] = float(value)
    for spec in declared:
        if spec.name not in given and spec.default is not None:
            given[spec.name] = spec.default
    return given


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` → ``(KEY, value)``; the value is a TOML value when it parses as one.

    ``days=30`` gives 30, ``flag=true`` True, ``names=["a","b"]`` a list, ``ca_dir=/srv/ca``
    the string ``/srv/ca`` (it is not TOML), ``label="x y"`` the string ``x y``.

    Raises:
        ValueError: no ``=``, or the key is neither a plain name nor ``TABLE.KEY``.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep:
        raise ValueError(f"'{text}' is not KEY=VALUE")
    if not _KEY.match(key):
        raise ValueError(
            f"'{key}' is not an option name (letters, digits, '_' and '-'; TABLE.KEY for a key "
            "of a table)"
        )
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value
