"""A stand-in for Harbor's ``proxy`` container: real nginx behind a directory bind mount.

Harbor's compose file bind-mounts the folder ``<data_volume>/secret/cert`` at ``/etc/cert`` in
the proxy container, and nginx serves ``/etc/cert/server.crt``. Here nginx runs in a private
mount namespace (``unshare --mount``) where ``source`` (that folder under the sandbox root) is
bind-mounted at ``mount`` (a folder beside nginx's prefix; the nginx config names
``<mount>/server.crt``). So, as in Harbor, a rename inside the folder is seen at once, and a
folder deleted and recreated by prepare is not: nginx keeps the deleted one until the
"container" restarts.

The state file (``$TLSPROV_TEST_PROXY``, JSON) holds ``source``, ``mount``, ``port``, ``nginx``
(the master's argv, ``daemon off``), ``log`` and, while it runs, ``pid``. ``docker compose
up/down/restart/exec`` in the recording ``docker`` call :func:`start`, :func:`stop` and
:func:`exec_in`. Stdlib only: the fakes run with whichever python3 is on PATH.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONTAINER_CERT_DIR = "/etc/cert"
START_TIMEOUT = 15.0


def load(path: str) -> dict[str, Any]:
    """The state file's content."""
    state: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return state


def _save(path: str, state: dict[str, Any]) -> None:
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def alive(pid: int | None) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start(path: str) -> int:
    """Start the proxy (a fresh mount namespace and bind mount); return the nginx master pid."""
    state = load(path)
    if alive(state.get("pid")):
        return int(state["pid"])
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            state["source"], state["mount"], *state["nginx"]]  # fmt: skip
    with open(state["log"], "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"docker: the proxy exited with {proc.returncode} (see {state['log']})"
            )
        try:
            socket.create_connection(("127.0.0.1", int(state["port"])), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.01)
    else:
        raise SystemExit("docker: the proxy did not start listening in time")
    state["pid"] = proc.pid
    _save(path, state)
    return proc.pid


def stop(path: str, sig: int = signal.SIGQUIT, timeout: float = 15.0) -> None:
    """Stop the proxy as ``docker stop`` does for Harbor's nginx (its STOPSIGNAL is SIGQUIT)."""
    state = load(path)
    pid = state.get("pid")
    if alive(pid):
        os.kill(int(pid), sig)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if alive(pid):
            os.kill(int(pid), signal.SIGKILL)
    state["pid"] = None
    _save(path, state)


def exec_in(path: str, command: list[str]) -> int:
    """Run ``command`` in the proxy's mount namespace, ``/etc/cert`` mapped to the mount.

    ``nginx`` gets the master's ``-p``/``-c``/``-e`` so ``nginx -s reload`` signals it after
    loading the configuration and certificates, exactly as in Harbor's container.
    """
    state = load(path)
    pid = state.get("pid")
    if not alive(pid):
        print('service "proxy" is not running', file=sys.stderr)
        return 1
    mount = state["mount"]
    argv = [a.replace(CONTAINER_CERT_DIR, mount, 1) if a.startswith(CONTAINER_CERT_DIR) else a
            for a in command]  # fmt: skip
    if argv and argv[0] == "nginx":
        master = state["nginx"]
        keep = [
            x for i, a in enumerate(master) if a in ("-p", "-c", "-e") for x in master[i : i + 2]
        ]
        argv = [master[0], *keep, *argv[1:]]
    proc = subprocess.run(["nsenter", f"--mount=/proc/{pid}/ns/mnt", "--", *argv],
                          check=False, timeout=60)  # fmt: skip
    return proc.returncode
