"""The records a plugin registers: :class:`ProviderSpec` and :class:`TargetSpec`.

Both may declare their options with :class:`~tlsprov.plugins.options.OptionSpec`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tlsprov.plugins.interfaces import Provider, Target
from tlsprov.plugins.options import OptionSpec

__all__ = ["OptionSpec", "ProviderSpec", "TargetSpec"]

_PLUGIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _check_plugin_name(kind: str, name: str) -> None:
    if not _PLUGIN_NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r} must match {_PLUGIN_NAME.pattern} (lower case, digits, '-')"
        )


def _check_declared(kind: str, name: str, options: Sequence[OptionSpec] | None) -> None:
    if options is None:
        return
    seen: set[str] = set()
    for option in options:
        if not isinstance(option, OptionSpec):
            raise ValueError(f"{kind} {name!r}: options must be OptionSpec records")
        if option.name in seen:
            raise ValueError(f"{kind} {name!r} declares the option {option.name!r} twice")
        seen.add(option.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """A provider offered by a plugin.

    Attributes:
        name: what users type (``--provider NAME``, ``[provider] name``).
        factory: called with the provider's options dict; returns a :class:`Provider`.
            Without declared options it should reject unknown ones with ``ConfigError``.
        description: one line for ``tlsprov plugins``.
        options: the options it takes, checked by the host before the factory runs (unknown
            keys and wrong types refused, defaults filled in); ``None`` (the default) passes
            every option through unchecked.
        written_paths: the options that name folders the provider writes (``ca_dir``). With an
            install root set, ``provision`` and ``renew`` pass them joined to the root.
        state_option: the option naming the provider's own state folder; with an install root
            set and no value given, ``provision`` passes ``<state folder>/<provider name>``.
    """

    name: str
    factory: Callable[[dict[str, Any]], Provider]
    description: str = ""
    options: tuple[OptionSpec, ...] | None = None
    written_paths: tuple[str, ...] = ()
    state_option: str | None = None

    def __post_init__(self) -> None:
        _check_plugin_name("provider", self.name)
        if self.options is not None:
            object.__setattr__(self, "options", tuple(self.options))
        _check_declared("provider", self.name, self.options)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetSpec:
    """An installer target offered by a plugin.

    Attributes:
        name: what users list in ``--targets`` or ``[install] targets``.
        factory: returns a :class:`Target`. A factory taking one argument is called with the
            target's settings dict (``[targets.NAME]``, ``--target-option NAME.KEY=VALUE``); a
            factory taking none is called without arguments.
        description: one line for ``tlsprov plugins``.
        options: the settings it takes, checked like :attr:`ProviderSpec.options`.
    """

    name: str
    factory: Callable[[dict[str, Any]], Target] | Callable[[], Target]
    description: str = ""
    options: tuple[OptionSpec, ...] | None = None

    def __post_init__(self) -> None:
        _check_plugin_name("target", self.name)
        if self.options is not None:
            object.__setattr__(self, "options", tuple(self.options))
        _check_declared("target", self.name, self.options)
