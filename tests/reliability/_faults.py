"""Fault injection from outside tlsprov: count the steps of an install, fail at the Nth one.

Used two ways:

- as a script: ``python _faults.py SPEC_JSON -- tlsprov-argv...`` runs ``tlsprov.cli.main``
  with the probes installed and exits with its code (or dies by SIGKILL at the fault);
- in-process after ``os.fork()`` (see ``conftest.py``): :func:`install_probes` then ``main``.

A *step* is one of: an ``atomic_write`` call (before the temp file exists; this covers the
target files, every backup copy and every journal save), the moment after a temp file was
fsynced and just before ``os.replace``, the moment right after ``os.replace``, a command about
to run / just finished (``tlsprov.runner._execute``), and the final check about to run / just done.
Every step is appended as one JSON line to ``spec["events"]`` so a test can say where it
struck. At step ``spec["n"]`` the process kills itself with SIGKILL (``kind="kill"``) or the
step raises ``OSError`` (``kind="raise"``); ``n=0`` only records.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any


class _Probe:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.n = int(spec.get("n", 0))
        self.kind = str(spec.get("kind", "kill"))
        self.events = str(spec["events"])
        self.count = 0
        self.fired = False

    def step(self, label: str) -> None:
        self.count += 1
        hit = not self.fired and self.count == self.n
        with open(self.events, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"n": self.count, "step": label, "hit": hit}) + "\n")
        if not hit:
            return
        self.fired = True
        if self.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise OSError(errno.EIO, f"injected fault at step {self.count} ({label})")


def install_probes(spec: dict[str, Any]) -> None:
    """Wrap ``atomic_write``, ``os.replace``, the runner's ``_execute`` and the final check."""
    import tlsprov.fsops
    import tlsprov.install.backup
    import tlsprov.install.engine
    import tlsprov.runner
    from tlsprov.errors import InstallError

    probe = _Probe(spec)
    real_write = tlsprov.fsops.atomic_write
    real_replace = os.replace
    real_run = tlsprov.runner._execute
    real_check = tlsprov.install.engine._final_check

    def atomic_write(path: Any, data: bytes, **kw: Any) -> None:
        try:
            probe.step(f"write {path}")
        except OSError as exc:  # as the real atomic_write reports an OS failure
            raise InstallError(f"could not write {path}: {exc.strerror}") from exc
        real_write(path, data, **kw)

    def replace(src: Any, dst: Any, **kw: Any) -> None:
        probe.step(f"before-rename {dst}")
        real_replace(src, dst, **kw)
        probe.step(f"after-rename {dst}")

    def run(argv: Any, *args: Any, **kw: Any) -> Any:
        name = os.path.basename(str(argv[0])) + " " + " ".join(map(str, argv[1:]))
        probe.step(f"before-command {name}")
        result = real_run(argv, *args, **kw)
        probe.step(f"after-command {name}")
        return result

    def final_check(*args: Any, **kw: Any) -> None:
        probe.step("before-final-check")
        real_check(*args, **kw)
        probe.step("after-final-check")

    patched: Callable[..., None] = atomic_write
    for module in (tlsprov.fsops, tlsprov.install.backup, tlsprov.install.engine):
        module.atomic_write = patched  # type: ignore[attr-defined]
    os.replace = replace  # type: ignore[assignment]
    tlsprov.runner._execute = run  # type: ignore[attr-defined]
    tlsprov.install.engine._final_check = final_check  # type: ignore[attr-defined]


def main(argv: list[str]) -> int:
    """``_faults.py SPEC_JSON -- ARGS``: install the probes, run the CLI."""
    spec = json.loads(argv[0])
    rest = argv[argv.index("--") + 1 :]
    install_probes(spec)
    from tlsprov.cli import main as cli_main

    return cli_main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
