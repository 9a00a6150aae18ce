"""Shared body of the recording test programs in this folder.

Each program appends one JSON line ``{"argv": [...], "cwd": ...}`` to the file named by
``TLSPROV_TEST_RECORD`` (``argv[0]`` is the program's name, not its path) and exits 0, or
exits with the code in ``TLSPROV_TEST_FAIL_<NAME>`` (name upper-cased, ``-`` → ``_``).
``docker compose up`` (or ``docker-compose up``) sends SIGHUP to the nginx whose pid is in the
file named by ``TLSPROV_TEST_NGINX_PIDFILE``, as Harbor's proxy restarting with new files.

``docker compose exec [-T] proxy CMD`` (``docker exec nginx CMD``) runs CMD as in the proxy
container: without a proxy stand-in, ``sha256sum /etc/cert/F`` hashes
``<root>/<data_volume>/secret/cert/F`` and ``nginx -s reload`` reloads the pid-file nginx. With
``TLSPROV_TEST_PROXY`` naming a proxy state file (see ``_proxy.py``), nginx really runs behind a
directory bind mount: ``up -d`` starts it, ``down`` stops it (SIGQUIT), ``restart proxy`` (or
``docker restart nginx``) does both, and ``exec`` runs the command in its mount namespace.
"""

from __future__ import annotations

import os
import sys
import time

# Only C-level modules at start: the fault-injection tests run these programs thousands of
# times, and ``json`` (through ``re``) and ``signal`` (through ``enum``) cost more than the
# interpreter itself. ``encode_basestring_ascii`` is what ``json.dumps`` uses for a ``str``.
from _json import encode_basestring_ascii as _quote


def fail_code(name: str) -> int:
    """The exit code the test asked this program to fail with, or 0."""
    value = os.environ.get("TLSPROV_TEST_FAIL_" + name.upper().replace("-", "_"), "")
    return int(value) if value.strip() else 0


def record(name: str, args: list[str]) -> None:
    """Append this call to the record file (fails loudly when the test forgot to name one)."""
    path = os.environ["TLSPROV_TEST_RECORD"]
    line = _json_line([name, *args], os.getcwd())
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def _json_line(argv: list[str], cwd: str) -> str:
    """``json.dumps({"argv": argv, "cwd": cwd})``, byte for byte, without importing json."""
    return '{"argv": [' + ", ".join(map(_quote, argv)) + '], "cwd": ' + _quote(cwd) + "}"


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
    sub = args[1:] if name == "docker" and args[:1] == ["compose"] else None
    if name == "docker-compose":
        sub = args
    proxy = os.environ.get("TLSPROV_TEST_PROXY")
    pidfile = os.environ.get("TLSPROV_TEST_NGINX_PIDFILE")
    if sub is None and name == "docker" and args[:1] in (["exec"], ["restart"]):
        rest = [a for a in args[1:] if not a.startswith("-")]
        if args[0] == "exec":
            return container_exec(proxy, pidfile, _after_flags(args[1:])[1:])
        if proxy and "nginx" in rest:
            return restart(proxy)
        return 0
    if sub is None or not sub:
        return 0
    if sub[0] == "up":
        if proxy:
            _proxy().start(proxy)
        elif pidfile:  # like Harbor's proxy container coming back with the new files
            with open(pidfile, encoding="utf-8") as fh:
                reload_nginx(int(fh.read().strip()))
    elif sub[0] == "down" and proxy:
        _proxy().stop(proxy)
    elif sub[0] == "restart" and proxy and ("proxy" in sub[1:] or len(sub) == 1):
        return restart(proxy)
    elif sub[0] == "exec":
        rest = _after_flags(sub[1:])
        return container_exec(proxy, pidfile, rest[1:]) if rest[:1] == ["proxy"] else 1
    return 0


def _after_flags(args: list[str]) -> list[str]:
    """``args`` from the first one that is not an option (``-T``, ``-i``...)."""
    for i, arg in enumerate(args):
        if not arg.startswith("-"):
            return args[i:]
    return []


def _proxy():  # type: ignore[no-untyped-def]
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import _proxy as module

    return module


def restart(proxy: str) -> int:
    """``docker compose restart proxy``: stop and start, with a new bind mount."""
    module = _proxy()
    module.stop(proxy)
    module.start(proxy)
    return 0


def container_exec(proxy: str | None, pidfile: str | None, command: list[str]) -> int:
    """A command run inside the proxy container."""
    if proxy:
        return int(_proxy().exec_in(proxy, command))
    if command[:1] == ["sha256sum"]:
        import hashlib

        for arg in command[1:]:
            host = _host_cert_dir() + arg[len("/etc/cert") :]
            try:
                with open(host, "rb") as fh:
                    print(f"{hashlib.sha256(fh.read()).hexdigest()}  {arg}")
            except OSError:
                print(f"sha256sum: {arg}: No such file or directory", file=sys.stderr)
                return 1
        return 0
    if command[:3] == ["nginx", "-s", "reload"] and pidfile:
        with open(pidfile, encoding="utf-8") as fh:
            reload_nginx(int(fh.read().strip()))
    return 0


def _host_cert_dir() -> str:
    """``<root>/<data_volume>/secret/cert``, data_volume read from ./harbor.yml."""
    import re

    volume = "/data"
    try:
        with open("harbor.yml", encoding="utf-8") as fh:
            found = re.search(r"^data_volume:[ \t]*['\"]?([^'\"\s#]+)", fh.read(), re.MULTILINE)
        volume = found.group(1) if found else volume
    except OSError:
        pass
    return os.environ["TLSPROV_TEST_ROOT"] + volume.rstrip("/") + "/secret/cert"


def _children(pid: int) -> set[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:
        return set()


def reload_nginx(master: int, timeout: float = 10.0) -> None:
    """SIGHUP nginx and return once its old workers are gone, as ``compose up -d`` returns
    once the new container runs: no connection can then reach the old certificate."""
    import signal

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
