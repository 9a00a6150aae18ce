"""CLI output: human text on stderr, or exactly one JSON document on stdout with ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["Output"]


class Output:
    """Collects a command's result and prints it the way the user asked."""

    def __init__(self, *, json_mode: bool = False) -> None:
        self.json_mode = json_mode

    def info(self, line: str) -> None:
        """A human line on stderr (also in JSON mode, where stdout is reserved)."""
        print(line, file=sys.stderr)

    def warn(self, line: str) -> None:
        """A warning line on stderr."""
        print(f"warning: {line}", file=sys.stderr)

    def result(self, data: dict[str, Any], human: str | list[str] | None = None) -> None:
        """Print the command's result: JSON on stdout, or ``human`` text on stdout."""
        if self.json_mode:
            print(json.dumps({"ok": True, **data}, indent=2, default=str))
            return
        if human is None:
            return
        lines = [human] if isinstance(human, str) else human
        for line in lines:
            print(line)

    def fail(self, message: str, *, code: int) -> None:
        """Report an error: one line on stderr; in JSON mode also a JSON document on stdout."""
        line = " ".join(message.split())
        print(f"tlsprov: error: {line}", file=sys.stderr)
        if self.json_mode:
            print(json.dumps({"ok": False, "error": line, "exit_code": code}))
