"""The docs stay true: every hook is documented, and the library example runs."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tlsprov import hookspecs

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _hookspecs() -> dict[str, list[str]]:
    specs = {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, f"{hookspecs.PROJECT}_spec")
    }
    assert specs, "no hookspecs found"
    return specs


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("hook", sorted(_hookspecs()))
def test_every_hook_and_argument_is_documented(hook: str) -> None:
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    args = _hookspecs()[hook]
    heading = f"### {hook}({', '.join(args)})"
    assert heading in guide.splitlines(), f"docs/plugins.md lacks the heading {heading!r}"
    section = guide.split(heading, 1)[1].split("\n### ", 1)[0]
    for arg in args:
        assert f"- `{arg}`" in section, f"docs/plugins.md does not describe {hook}'s {arg!r}"


def test_the_guide_documents_no_hook_that_does_not_exist() -> None:
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### (tlsprov_\w+)\(", guide, flags=re.MULTILINE))
    assert documented == set(_hookspecs())


def test_library_example_runs(tmp_path: Path) -> None:
    blocks = _python_blocks((DOCS / "library.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/library.md should hold exactly one python example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "refused: wildcards are not allowed; list each name" in proc.stdout
    assert "unknown provider 'nope'; choose one of: " in proc.stdout
    assert (tmp_path / "certs" / "harbor.test.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "ca" / "ca.crt").is_file()


def test_plugin_guide_examples_are_valid_python() -> None:
    for block in _python_blocks((DOCS / "plugins.md").read_text(encoding="utf-8")):
        compile(block, "docs/plugins.md", "exec")


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_command() -> None:
    repo = DOCS.parent
    lines = (repo / "README.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# tlsprov"
    first_block = lines[lines.index("```bash") + 1 :]
    first_block = first_block[: first_block.index("```")]
    assert lines.index("```bash") <= 5, "the set-up commands must come first"
    commands = [ln.split("#")[0].strip() for ln in first_block]
    assert commands == ["./scripts/demo", "./scripts/test"]
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[0] == "#!/usr/bin/env bash"
    assert ci[-1] == "exec ./scripts/test"
    for script in ("scripts/demo", "scripts/test", ".ci/run"):
        assert (repo / script).stat().st_mode & 0o111, f"{script} is not executable"
