"""The CLI frame as seen from outside: --version, --help stays light, usage errors are one line."""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys

CHECK_IMPORTS = """
import sys
from tlsprov.cli import main
code = main(["--help"])
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("acme", "requests", "josepy"))
print("HEAVY=" + ",".join(heavy))
print("CODE=" + str(code))
"""


def test_version(tlsprov_proc):
    res = tlsprov_proc("--version")
    assert res.code == 0
    assert res.out.strip() == f"tlsprov {md.version('tlsprov')}"


def test_help_does_not_import_acme_or_requests():
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stdout
    assert "CODE=0" in proc.stdout
    assert "usage: tlsprov" in proc.stdout
    for name in ("ca", "issue", "inspect"):
        assert name in proc.stdout


def test_help_importtime_has_no_heavy_modules():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tlsprov", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "tlsprov.cli" in imported  # control: the report really lists our modules
    for heavy in ("acme", "requests", "josepy"):
        assert heavy not in {m.split(".")[0] for m in imported}


def test_sub_command_help(cli):
    for argv in (("ca", "init", "--help"), ("issue", "--help"), ("inspect", "--help")):
        res = cli(*argv)
        assert res.code == 0
        assert "--json" in res.out


def test_ca_without_action_is_usage_error(cli):
    res = cli("ca")
    assert res.code == 2
    assert len(res.err_lines) == 1
    assert res.err_lines[0].startswith("tlsprov: error: ")


def test_json_error_document(cli):
    res = cli("inspect", "/nonexistent/cert.pem", "--json")
    assert res.code == 2
    doc = json.loads(res.out)
    assert doc == {
        "ok": False,
        "error": "/nonexistent/cert.pem does not exist; check the path",
        "exit_code": 2,
    }
    assert res.err_lines == ["tlsprov: error: /nonexistent/cert.pem does not exist; check the path"]
