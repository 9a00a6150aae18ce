"""While waiting on the CA the CLI shows what it waits for: a status line on a terminal, plain
log lines otherwise."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _args(pebble: Any, tmp_path: Path) -> list[str]:
    return [
        sys.executable, "-m", "tlsprov", "issue", "harbor.test", "--provider", "letsencrypt",
        "--directory", pebble.directory, "--ca-bundle", str(pebble.listener.ca), "--agree-tos",
        "--account-dir", str(tmp_path / "account"), "--http-address", "127.0.0.1",
        "--http-port", str(pebble.http_port), "--key-type", "ec256", "--out", str(tmp_path / "o"),
    ]  # fmt: skip


def test_terminal_gets_a_status_line(pebble: Any, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        _args(pebble, tmp_path), stdin=subprocess.DEVNULL, stdout=follower, stderr=follower
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "\r\x1b[Ktlsprov: waiting for the CA to validate harbor.test" in screen, screen
    # each status line stays on its line (no newline) and is erased before anything follows it
    statuses = re.findall(r"\r\x1b\[Ktlsprov: waiting[^\r\n\x1b]*(.{0,4})", screen, re.S)
    assert len(statuses) >= 2, screen  # validation, then issuance
    assert all(after.startswith("\r\x1b[K") for after in statuses), statuses
    assert "issued a server certificate for harbor.test" in screen


def test_plain_log_lines_without_a_terminal(pebble: Any, tmp_path: Path) -> None:
    proc = subprocess.run(
        _args(pebble, tmp_path), capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr
    assert "tlsprov: waiting for the CA to validate harbor.test (http-01)...\n" in proc.stderr
