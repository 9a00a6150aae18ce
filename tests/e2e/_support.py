"""Helpers for the end-to-end tests: the sandbox root, the CLI, certificates, snapshots.

conftest.py loads this file as the module ``tlsprov_e2e_support`` (pytest runs with
``--import-mode=importlib``, so test files import it by that name, never by path). It
re-exports the server helpers of ``_servers.py`` so tests need one import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tlsprov_e2e_servers import (  # re-exported for the tests
    HOST,
    NginxServer,
    Skopeo,
    build_oci_image,
    free_port,
    log_tail,
    nginx_conf,
    registry_config,
    registry_tags,
    start_daemon,
    stop_process,
    tls_include,
)

from tlsprov.testing import tree_snapshot

__all__ = [
    "HOST", "Issued", "NginxServer", "Sandbox", "Skopeo", "build_oci_image", "clean_env",
    "describe", "free_port", "log_tail", "nginx_conf", "registry_config", "registry_tags",
    "run_tlsprov", "snapshot", "snapshot_diff", "start_daemon", "stop_process", "tls_include",
]  # fmt: skip

HERE = Path(__file__).resolve().parent
FAKES = HERE / "fakes"
REPO = HERE.parents[1]
HARBOR_DATA = REPO / "tests" / "data" / "harbor"
CLI_TIMEOUT = 60.0

OS_RELEASE = {
    "debian": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    'VERSION_ID="12"\nID=debian\n',
    "ubuntu": 'PRETTY_NAME="Ubuntu 24.04 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'
    "ID_LIKE=debian\n",
    "rhel": 'NAME="Red Hat Enterprise Linux"\nVERSION_ID="9.4"\nID="rhel"\nID_LIKE="fedora"\n',
    "fedora": 'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\n',
    "arch": 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\n',
    "opensuse": 'NAME="openSUSE Leap"\nVERSION_ID="15.6"\nID="opensuse-leap"\n'
    'ID_LIKE="suse opensuse"\n',
    "unknown": 'NAME="Plan 9"\nID=plan9\n',
}


# --------------------------------------------------------------------------- the CLI


def run_tlsprov(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tlsprov ARGS`` in a subprocess, bounded by a timeout."""
    return subprocess.run(
        [sys.executable, "-m", "tlsprov", *args],
        capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT, cwd=str(REPO),
    )  # fmt: skip


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A command's argv, exit code and output, for assertion messages."""
    return (
        f"$ {' '.join(map(str, result.args))}\nexit {result.returncode}\n"
        f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
    )


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any TLSPROV_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLSPROV_")}
    env.update(extra)
    return env


# --------------------------------------------------------------------------- sandbox


def compose_text(with_trivy: bool) -> str:
    """A docker-compose.yml shaped like the one Harbor's prepare renders (services only)."""
    services = ["log", "registry", "core", "portal", "jobservice", "proxy"]
    if with_trivy:
        services.append("trivy-adapter")
    body = "".join(f"  {name}:\n    image: goharbor/{name}:test\n" for name in services)
    return "version: '2.3'\nservices:\n" + body


Snapshot = dict[str, tuple[int, bytes | None]]


def snapshot(root: Path, *, exclude: tuple[str, ...] = ()) -> Snapshot:
    """``tlsprov.testing.tree_snapshot`` of ``root`` without the ``exclude`` subtrees."""
    return tree_snapshot(root, exclude=exclude)


def snapshot_diff(before: Snapshot, after: Snapshot) -> str:
    """Which entries were added, removed or changed (empty when identical)."""
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    parts = [
        f"{label}: {items}"
        for label, items in (("added", added), ("removed", removed), ("changed", changed))
        if items
    ]
    return "; ".join(parts)  # fmt: skip


STATE_DIR = "var/lib/tlsprov"


class Sandbox:
    """A fake host root (os-release, Harbor install folder) and ``tlsprov`` run against it."""

    def __init__(self, base: Path, family: str, harbor_yml: str | None, trivy: bool) -> None:
        self.base = base
        self.root = base / "root"
        self.record_file = base / "record.jsonl"
        self.harbor = self.root / "opt" / "harbor"
        (self.root / "etc" / "docker").mkdir(parents=True)
        (self.root / "etc" / "os-release").write_text(OS_RELEASE[family], encoding="utf-8")
        (self.root / "data").mkdir()
        if harbor_yml is not None:
            self.harbor.mkdir(parents=True)
            shutil.copyfile(HARBOR_DATA / harbor_yml, self.harbor / "harbor.yml")
            body = (FAKES / "prepare").read_text(encoding="utf-8").split("\n", 1)[1]
            (self.harbor / "prepare").write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
            (self.harbor / "prepare").chmod(0o755)
            (self.harbor / "docker-compose.yml").write_text(compose_text(trivy), encoding="utf-8")
        self.record_file.touch()
        self.env = clean_env(
            PATH=f"{FAKES}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            TLSPROV_TEST_RECORD=str(self.record_file),
            TLSPROV_TEST_ROOT=str(self.root),
            TLSPROV_TEST_FAKES=str(FAKES),
            PYTHONDONTWRITEBYTECODE="1",
            HOME=str(base),
        )

    def tlsprov(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m tlsprov ARGS`` with the sandbox environment (plus ``env``)."""
        return run_tlsprov(list(args), {**self.env, **env})

    def install(
        self, bundle: Path, port: int, *extra: str, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``tlsprov install --bundle B --host harbor.test --port P --root ROOT EXTRA``."""
        return self.tlsprov(
            "install", "--bundle", str(bundle), "--host", HOST, "--port", str(port),
            "--root", str(self.root), *extra, **env,
        )  # fmt: skip

    def raw_records(self) -> list[dict[str, object]]:
        """Every recorded call: ``{"argv": [...], "cwd": ...}``."""
        text = self.record_file.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def records(self) -> list[list[str]]:
        """The recorded argv lists, without ``docker compose version`` probes."""
        calls = [list(map(str, r["argv"])) for r in self.raw_records()]  # type: ignore[call-overload]
        return [c for c in calls if c != ["docker", "compose", "version"]]

    def path(self, host_path: str) -> Path:
        """An absolute host path joined to the root."""
        return self.root / host_path.lstrip("/")

    def certs_d(self, port: int) -> Path:
        """The Docker certs.d folder for harbor.test[:port] under the root (the port rule)."""
        return (
            self.root / "etc" / "docker" / "certs.d" / (HOST if port == 443 else f"{HOST}:{port}")
        )

    def snapshot(self, *, exclude: tuple[str, ...] = (), state: bool = True) -> Snapshot:
        """:func:`snapshot` of the root; ``state=False`` leaves out tlsprov's state folder.

        The state folder (backups, lock) and the parents it created are left out.
        """
        if state:
            return snapshot(self.root, exclude=exclude)
        snap = snapshot(self.root, exclude=(*exclude, STATE_DIR))
        for parent in ("var/lib", "var"):
            if snap.get(parent) is not None and not any(k.startswith(parent + "/") for k in snap):
                del snap[parent]
        return snap


# --------------------------------------------------------------------------- certificates


class Issued:
    """A CA made by ``tlsprov ca init`` and bundles made by ``tlsprov issue`` (ec256)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = clean_env(HOME=str(folder))
        self.ca_dir = folder / "CA"
        self.server = folder / "server"

    def issue(self, name: str, out: Path, *extra: str) -> Path:
        """``tlsprov issue NAME --ca-dir CA --out OUT --key-type ec256 EXTRA``; returns OUT."""
        result = run_tlsprov(
            ["issue", name, "--ca-dir", str(self.ca_dir), "--out", str(out),
             "--key-type", "ec256", *extra],
            self.env,
        )  # fmt: skip
        assert result.returncode == 0, describe(result)
        return out

    @property
    def ca_cert(self) -> Path:
        """The CA certificate clients trust (the server bundle's ``ca.crt``)."""
        return self.server / "ca.crt"
