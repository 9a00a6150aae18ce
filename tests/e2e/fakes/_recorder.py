"""Shared body of the recording test programs in this folder.

Each program appends one JSON line ``{"argv": [...], "cwd": ...}`` to the file named by
``TLSPROV_TEST_RECORD`` (``argv[0]`` is the program's name, not its path) and exits 0, or
exits with the code in ``TLSPROV_TEST_FAIL_<NAME>`` (name upper-cased, ``-`` → ``_``).
``docker compose up`` (or ``docker-compose up``) sends SIGHUP to the nginx whose pid is in the
file named by ``TLSPROV_TEST_NGINX_PIDFILE``, as Harbor's proxy restarting with new files.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time


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
    compose_up = (name == "docker" and args[:2] == ["compose", "up"]) or (
        name == "docker-compose" and args[:1] == ["up"]
    )
    pidfile = os.environ.get("TLSPROV_TEST_NGINX_PIDFILE")
    if compose_up and pidfile:  # like Harbor's proxy container coming back with the new files
        with open(pidfile, encoding="utf-8") as fh:
            reload_nginx(int(fh.read().strip()))
    return 0


def _children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:
        return set()


def reload_nginx(master: int, timeout: float = 10.0) -> None:
    """SIGHUP nginx and return once its old workers are gone, as ``compose up -d`` returns
    once the new container runs: no connection can then reach the old certificate."""
    old = _children(master)
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = {p for p in old if os.path.exists(f"/proc/{p}")} & _children(master)
        if not alive and _children(master):
            return
        time.sleep(0.02)
    print("docker: nginx did not finish reloading in time", file=sys.stderr)
    sys.exit(1)
