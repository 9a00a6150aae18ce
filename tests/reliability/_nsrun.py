"""Run ``tlsprov`` with a tiny, nearly full tmpfs mounted in the sandbox (inside ``unshare -m``).

Usage: ``unshare -m python _nsrun.py SPEC_JSON``. SPEC holds ``mount`` (the folder to cover),
``size`` (tmpfs size), ``free_pages`` (4 KiB pages left free after filling), ``seed`` (a folder
whose contents are copied into the tmpfs first, or null), ``root`` (the sandbox root),
``exclude`` (relative paths left out of the snapshots), ``argv``, ``env`` and ``result`` (where
the JSON result goes). The tmpfs vanishes with the namespace, so the before/after snapshots are
taken here, inside it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tlsprov.testing import tree_snapshot

PAGE = 4096


def _fill(folder: Path, free_pages: int) -> None:
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while True:
            try:
                os.write(fd, b"\0" * PAGE)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    size = filler.stat().st_size
    os.truncate(filler, max(0, size - size % PAGE - free_pages * PAGE))


def _snap(root: Path, exclude: list[str]) -> dict[str, list[object]]:
    return {
        rel: [mode, content.hex() if content is not None else None]
        for rel, (mode, content) in tree_snapshot(root).items()
        if not any(rel == ex or rel.startswith(ex + "/") for ex in exclude)
    }


def main(spec: dict[str, object]) -> None:
    mount = Path(str(spec["mount"]))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={spec['size']},mode=0755", "tmpfs", str(mount)],
        check=True,
    )
    if spec.get("seed"):
        shutil.copytree(str(spec["seed"]), mount, symlinks=True, dirs_exist_ok=True)
    _fill(mount, int(str(spec["free_pages"])))
    root = Path(str(spec["root"]))
    exclude = [str(x) for x in spec.get("exclude", [])]  # type: ignore[attr-defined]
    before = _snap(root, exclude)
    proc = subprocess.run(
        [sys.executable, "-m", "tlsprov", *spec["argv"]],  # type: ignore[misc]
        env=spec["env"],  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        timeout=60,
    )
    after = _snap(root, exclude)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    result = {
        "code": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "changed": changed,
        "listing": sorted(after),
    }
    Path(str(spec["result"])).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
