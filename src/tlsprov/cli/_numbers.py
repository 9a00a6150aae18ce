"""argparse types for numeric options: finite, within bounds, or one clear usage error."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["MAX_DAYS", "MAX_SECONDS", "port", "seconds", "whole"]

#: The longest wait any option accepts: one day.
MAX_SECONDS = 86400.0
#: The most days any option accepts (a hundred years, as ``--days``).
MAX_DAYS = 36525


def seconds(*, zero: bool) -> Callable[[str], float]:
    """A number of seconds, finite, up to :data:`MAX_SECONDS`; 0 allowed only when ``zero``."""
    low = "0" if zero else "more than 0"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(
                f"'{text}' must be a number of seconds from {low} to {MAX_SECONDS:.0f}"
            )
        if value > MAX_SECONDS:
            raise argparse.ArgumentTypeError(
                f"'{text}' is more than {MAX_SECONDS:.0f} seconds (one day)"
            )
        return value

    return parse


def whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """A whole number from ``low`` to ``high`` (``what`` names the unit in the message)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"'{text}' must be from {low} to {high} {what}")
        return value

    return parse


def port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port (1 to 65535)")
    return int(text)
