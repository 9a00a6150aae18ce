"""CLI logging: plain ``tlsprov: ...`` lines, and a live status line on a terminal.

Log records carrying ``extra={"progress": True}`` ("waiting for the CA to validate ...") are
drawn on one self-replacing line when stderr is a terminal; otherwise they are ordinary lines.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["clear_status", "setup_logging"]

_CLEAR = "\r\x1b[K"


class _StatusLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes progress records as a status line; other records as lines above it."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._status_shown = False

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            if getattr(record, "progress", False):
                self.stream.write(f"{_CLEAR}{text}")
                self._status_shown = True
            else:
                prefix = _CLEAR if self._status_shown else ""
                self.stream.write(f"{prefix}{text}\n")
                self._status_shown = False
            self.flush()
        except Exception:
            self.handleError(record)

    def clear(self) -> None:
        """Erase the status line (before an error or result is printed)."""
        if self._status_shown:
            self.stream.write(_CLEAR)
            self.flush()
            self._status_shown = False

    def close(self) -> None:
        self.clear()
        super().close()


def clear_status() -> None:
    """Erase a status line the ``tlsprov`` logger may be showing."""
    for handler in logging.getLogger("tlsprov").handlers:
        if isinstance(handler, _StatusLineHandler):
            handler.clear()


def setup_logging(*, verbose: bool, stream: TextIO | None = None) -> logging.Handler:
    """Configure the ``tlsprov`` logger for the CLI and return its handler."""
    out = stream if stream is not None else sys.stderr
    handler: logging.Handler = (
        _StatusLineHandler(out) if out.isatty() else logging.StreamHandler(out)
    )
    handler.setFormatter(logging.Formatter("tlsprov: %(message)s"))
    logger = logging.getLogger("tlsprov")
    for old in list(logger.handlers):
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return handler
