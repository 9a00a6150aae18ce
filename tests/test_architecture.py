"""The dependency rules of the layout, checked on the source with ``ast``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PROVIDERS = ("tlsprov_selfsigned", "tlsprov_letsencrypt")
HEAVY = ("acme", "josepy", "requests", "ruamel", "dns")


def _modules(package: str) -> list[Path]:
    files = sorted((SRC / package).rglob("*.py"))
    assert files, f"no modules found under {SRC / package}"
    return files


class _ImportFinder(ast.NodeVisitor):
    """Collects absolute imports; optionally only those that run when the module is imported."""

    def __init__(self, module_level_only: bool) -> None:
        self.module_level_only = module_level_only
        self.found: list[tuple[int, str]] = []

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.found.append((node.lineno, node.module.split(".")[0]))

    def _function(self, node: ast.AST) -> None:
        if not self.module_level_only:
            self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if self.module_level_only and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)


def _imports(path: Path, *, module_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, top-level package) of the imports in ``path``; relative imports are skipped."""
    finder = _ImportFinder(module_level_only)
    finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return finder.found


def _violations(
    files: list[Path], banned: tuple[str, ...], *, module_level_only: bool
) -> list[str]:
    return [
        f"{path.relative_to(SRC)}:{line} imports {name}"
        for path in files
        for line, name in _imports(path, module_level_only=module_level_only)
        if name in banned
    ]


def test_core_never_imports_a_provider_package() -> None:
    assert _violations(_modules("tlsprov"), PROVIDERS, module_level_only=False) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_providers_never_import_each_other(provider: str) -> None:
    others = tuple(p for p in PROVIDERS if p != provider)
    assert _violations(_modules(provider), others, module_level_only=False) == []


def test_core_imports_heavy_modules_only_inside_functions() -> None:
    assert _violations(_modules("tlsprov"), HEAVY, module_level_only=True) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_provider_entry_modules_import_cheaply(provider: str) -> None:
    init = SRC / provider / "__init__.py"
    assert _violations([init], HEAVY, module_level_only=True) == []


def test_the_checker_sees_module_level_imports(tmp_path: Path) -> None:
    """Negative control: the ast walk really finds what the rules forbid."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import acme.client\n"
        "from ruamel.yaml import YAML\n"
        "try:\n    import requests\nexcept ImportError:\n    pass\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import josepy\n"
        "def f():\n    import dns.resolver\n"
        "from . import sibling\n"
    )
    assert _imports(sample, module_level_only=True) == [
        (1, "acme"),
        (2, "ruamel"),
        (4, "requests"),
        (7, "typing"),
    ]
    names = [n for _, n in _imports(sample)]
    assert "josepy" in names
    assert "dns" in names


@pytest.mark.parametrize(
    "code",
    [
        "import tlsprov",
        "import tlsprov.cli; tlsprov.cli.build_parser()",  # what `tlsprov --help` imports
        "from tlsprov.registry import default_registry as d; d().providers(); d().targets()",
    ],
    ids=["import", "cli-parser", "plugins-loaded"],
)
def test_import_tlsprov_stays_light(code: str) -> None:
    probe = (
        f"{code}\n"
        "import sys\n"
        "print(','.join(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:]))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *HEAVY, "requests_toolbelt", "urllib3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"{code!r} imported heavy modules"
