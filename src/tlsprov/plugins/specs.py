"""The records a plugin registers: :class:`ProviderSpec` and :class:`TargetSpec`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tlsprov.plugins.interfaces import Provider, Target

__all__ = ["ProviderSpec", "TargetSpec"]

_PLUGIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def _check_plugin_name(kind: str, name: str) -> None:
    if not _PLUGIN_NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r} must match {_PLUGIN_NAME.pattern} (lower case, digits, '-')"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """A provider offered by a plugin.

    Attributes:
        name: what users type (``--provider NAME``, ``[provider] name``).
        factory: called with the provider's options mapping; returns a :class:`Provider`.
            It should reject unknown options with ``ConfigError``.
        description: one line for ``tlsprov plugins``.
        written_paths: the options that name folders the provider writes (``ca_dir``). With an
            install root set, ``provision`` and ``renew`` pass them joined to the root.
        state_option: the option naming the provider's own state folder; with an install root
            set and no value given, ``provision`` passes ``<state folder>/<provider name>``.
    """

    name: str
    factory: Callable[[dict[str, Any]], Provider]
    description: str = ""
    written_paths: tuple[str, ...] = ()
    state_option: str | None = None

    def __post_init__(self) -> None:
        _check_plugin_name("provider", self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetSpec:
    """An installer target offered by a plugin.

    Attributes:
        name: what users list in ``--targets`` or ``[install] targets``.
        factory: called without arguments; returns a :class:`Target`.
        description: one line for ``tlsprov plugins``.
    """

    name: str
    factory: Callable[[], Target]
    description: str = ""

    def __post_init__(self) -> None:
        _check_plugin_name("target", self.name)
