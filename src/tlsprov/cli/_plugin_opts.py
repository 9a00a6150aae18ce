"""``-o KEY=VALUE`` for providers and ``--target-option NAME.KEY=VALUE`` for targets.

A value is read as a TOML value when it parses as one (``days=30`` → 30, ``flag=true`` → True,
``names=["a","b"]`` → a list), otherwise it is the string as typed (``ca_dir=/srv/ca``).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_option_argument", "add_target_option_argument", "option_arg", "target_options"]


def option_arg(text: str) -> tuple[str, Any]:
    """argparse type for ``-o``: ``KEY=VALUE``."""
    from tlsprov.plugins.options import parse_assignment

    try:
        return parse_assignment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def target_option_arg(text: str) -> tuple[str, str, Any]:
    """argparse type for ``--target-option``: ``NAME.KEY=VALUE``."""
    name, dot, rest = text.partition(".")
    if not dot or not name or "=" in name:
        raise argparse.ArgumentTypeError(f"'{text}' is not TARGET.KEY=VALUE")
    key, value = option_arg(rest)
    return name, key, value


def add_option_argument(p: argparse.ArgumentParser) -> None:
    """Add ``-o/--option KEY=VALUE`` (repeatable) for the chosen provider."""
    p.add_argument(
        "-o",
        "--option",
        dest="plugin_options",
        action="append",
        type=option_arg,
        default=[],
        metavar="KEY=VALUE",
        help="a provider option (repeatable; VALUE is read as TOML when it parses, else text)",
    )


def add_target_option_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--target-option NAME.KEY=VALUE`` (repeatable)."""
    p.add_argument(
        "--target-option",
        dest="target_options",
        action="append",
        type=target_option_arg,
        default=[],
        metavar="NAME.KEY=VALUE",
        help="a setting of target NAME, as in [targets.NAME] (repeatable; VALUE as for -o)",
    )


def target_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``--target-option`` values grouped by target name."""
    grouped: dict[str, dict[str, Any]] = {}
    for name, key, value in getattr(args, "target_options", []):
        grouped.setdefault(name, {})[key] = value
    return grouped
