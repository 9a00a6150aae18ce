"""Shared body of the recording test programs in this folder.

Each program appends one JSON line ``{"argv": [...], "cwd": ...}`` to the file named by
``TLSPROV_TEST_RECORD`` (``argv[0]`` is the program's name, not its path) and exits 0, or
exits with the code in ``TLSPROV_TEST_FAIL_<NAME>`` (name upper-cased, ``-`` → ``_``).
"""

from __future__ import annotations

import json
import os
import sys


def fail_code(name: str) -> int:
    """The exit code the test asked this program to fail with, or 0."""
    value = os.environ.get("TLSPROV_TEST_FAIL_" + name.upper().replace("-", "_"), "")
    return int(value) if value.strip() else 0


def record(name: str, args: list[str]) -> None:
    """Append this call to the record file (fails loudly when the test forgot to name one)."""
    path = os.environ["TLSPROV_TEST_RECORD"]
    line = json.dumps({"argv": [name, *args], "cwd": os.getcwd()})
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def main(name: str) -> int:
    """Record the call, then exit as the test asked."""
    args = sys.argv[1:]
    record(name, args)
    if name == "docker" and args[:2] == ["compose", "version"]:
        if os.environ.get("TLSPROV_TEST_NO_COMPOSE_V2"):
            print("docker: 'compose' is not a docker command.", file=sys.stderr)
            return 1
        print("Docker Compose version v2.99.0-test")
    code = fail_code(name)
    if code:
        print(f"{name}: failing on purpose (test asked for exit {code})", file=sys.stderr)
    return code
