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


# --- the floors: a module may import its own floor and the floors below, never a higher one ----

FLOORS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (1, "errors", ("tlsprov.errors",)),
    (2, "base", ("tlsprov.models", "tlsprov.fsops", "tlsprov.runner")),
    (3, "pki", ("tlsprov.pki",)),
    (4, "plugins", ("tlsprov.plugins",)),
    (5, "install", ("tlsprov.install",)),
    (6, "lifecycle", ("tlsprov.lifecycle",)),
    (7, "front", ("tlsprov.cli", "tlsprov.demo", "tlsprov.testing", "tlsprov.__main__")),
)
# Old import paths kept as thin re-exports for plugins written against them; src never uses them.
SHIMS = ("tlsprov.x509util", "tlsprov.hookspecs", "tlsprov.config")
ROOT_PACKAGE = "tlsprov"  # the public API: re-exports every floor, imported only by the front


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _floor(module: str) -> int | None:
    if module == ROOT_PACKAGE:
        return 7
    if module in SHIMS:
        return 8
    for number, _, prefixes in FLOORS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return number
    return None


def _edges(path: Path, name: str, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported tlsprov module) for every import in ``path``: module level, in functions
    and under TYPE_CHECKING alike. ``from a import b`` counts as ``a.b`` when that is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in known]
            targets = subs if subs and len(subs) == len(node.names) else [module, *subs]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target.split(".")[0] == "tlsprov" and target != name:
                found.append((node.lineno, target))
    return found


def import_graph(src: Path = SRC) -> dict[str, list[tuple[int, str]]]:
    """tlsprov module -> [(line, imported tlsprov module)], from the real source files."""
    files = {_module_name(p, src): p for p in sorted((src / "tlsprov").rglob("*.py"))}
    known = set(files)
    return {name: _edges(path, name, known) for name, path in files.items()}


def floor_violations(graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    out = []
    for module, edges in graph.items():
        mine = _floor(module)
        for line, target in edges:
            theirs = _floor(target)
            if mine is None or theirs is None:
                continue  # reported by test_every_module_has_a_floor
            if target in SHIMS or theirs > mine:
                out.append(f"{module}:{line} imports {target} (floor {theirs} > floor {mine})")
    return out


def import_cycles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Every import circle (strongly connected component), each as a path of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for _, w in graph.get(v, []):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def _describe_cycle(graph: dict[str, list[tuple[int, str]]], members: list[str]) -> str:
    inside = set(members)
    return "; ".join(
        f"{m}:{line} imports {t}" for m in members for line, t in graph[m] if t in inside
    )


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
        "from tlsprov.plugins.registry import default_registry as d; d().providers(); d().targets()",  # noqa: E501
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


def test_every_module_has_a_floor() -> None:
    assert [m for m in import_graph() if _floor(m) is None] == []


def test_no_lower_floor_imports_a_higher_one() -> None:
    assert floor_violations(import_graph()) == []


def test_no_import_circle_in_src() -> None:
    graph = import_graph()
    assert [_describe_cycle(graph, c) for c in import_cycles(graph)] == []


def test_targets_never_import_a_provider_the_cli_or_the_lifecycle() -> None:
    graph = import_graph()
    banned = ("tlsprov.cli", "tlsprov.lifecycle", "tlsprov.install.engine", "tlsprov.demo")
    found = [
        f"{m}:{line} imports {t}"
        for m, edges in graph.items()
        if m.startswith("tlsprov.install.targets")
        for line, t in edges
        if t.startswith(banned)
    ]
    assert found == []
    targets = sorted((SRC / "tlsprov" / "install" / "targets").rglob("*.py"))
    assert _violations(targets, PROVIDERS, module_level_only=False) == []


def test_no_module_over_400_lines() -> None:
    long = [
        f"{p.relative_to(SRC)} ({n} lines)"
        for p in sorted(SRC.rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    ]
    assert long == []


def _write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "tlsprov" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_graph_checks_catch_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """Negative control: a synthetic tree with one upward import (under TYPE_CHECKING, by a
    relative import) and one circle is reported, each naming the offending line."""
    src = _write_tree(
        tmp_path,
        {
            "__init__.py": "",
            "errors.py": "",
            "models.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from .plugins.registry import Registry\n"
            ),
            "pki/__init__.py": "",
            "pki/a.py": "from tlsprov.pki import b\n",
            "pki/b.py": "def f():\n    from tlsprov.pki.a import x\n",
            "plugins/__init__.py": "",
            "plugins/registry.py": "from tlsprov.models import X\n",
        },
    )
    graph = import_graph(src)
    assert floor_violations(graph) == [
        "tlsprov.models:3 imports tlsprov.plugins.registry (floor 4 > floor 2)"
    ]
    cycles = import_cycles(graph)
    assert sorted(cycles) == [
        ["tlsprov.models", "tlsprov.plugins.registry"],
        ["tlsprov.pki.a", "tlsprov.pki.b"],
    ]
    assert "tlsprov.pki.b:2 imports tlsprov.pki.a" in _describe_cycle(graph, cycles[-1])


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("tlsprov.hookspecs", "tlsprov.plugins.hookspecs", ["hookimpl", "hookspec", "PROJECT"]),
        ("tlsprov.config", "tlsprov.lifecycle.config", ["resolve_secret", "load_config", "Config"]),
        (
            "tlsprov.x509util",
            "tlsprov.pki.x509",
            ["cert_to_pem", "generate_key", "key_to_pem", "now_utc", "load_certs", "fingerprint"],
        ),
        ("tlsprov.plugins", "tlsprov.plugins.loader", ["load_plugins", "ENTRY_POINT_GROUP"]),
    ],
)
def test_documented_old_import_paths_keep_working(old: str, new: str, names: list[str]) -> None:
    import importlib

    old_module, new_module = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(old_module, name) is getattr(new_module, name), name


START_UP_BANNED = ("cryptography.x509", "acme", "josepy", "ruamel", "dns", "requests", "pluggy")


def _loaded(code: str, banned: tuple[str, ...] = START_UP_BANNED) -> list[str]:
    """The ``banned`` modules (or their submodules) in ``sys.modules`` after running ``code``."""
    probe = (
        f"{code}\nimport sys\nbanned = {banned!r}\n"
        "hit = [m for m in sys.modules if m in banned or m.split('.')[0] in banned]\n"
        "print(','.join(sorted(hit)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return [m for m in proc.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    "code",
    [
        "import tlsprov.cli, contextlib\nwith contextlib.redirect_stdout(None):\n"
        "    assert tlsprov.cli.main(['--help']) == 0",
        "import tlsprov",
    ],
    ids=["tlsprov --help", "import tlsprov"],
)
def test_start_up_imports_no_certificate_or_network_library(code: str) -> None:
    """What ``tlsprov --help`` and ``import tlsprov`` load, read from ``sys.modules``."""
    assert _loaded(code) == []


def test_the_start_up_probe_sees_a_heavy_import() -> None:
    """Negative control: the probe reports modules that really were imported."""
    assert _loaded("import tlsprov\nimport cryptography.x509") == ["cryptography.x509"]
    assert "pluggy" in _loaded("import tlsprov\ntlsprov.hookimpl")


def test_the_light_help_lists_every_command_as_its_module_does() -> None:
    """``tlsprov --help`` lists commands from a table; it must match the modules' own help."""
    import argparse

    from tlsprov.cli import SUMMARIES, build_parser

    def listed(parser: argparse.ArgumentParser) -> dict[str, str]:
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return {a.dest: str(a.help) for a in sub._choices_actions}

    assert listed(build_parser()) == SUMMARIES
    assert listed(build_parser(only="")) == SUMMARIES
    light = build_parser(only="status")
    (sub,) = [a for a in light._actions if isinstance(a, argparse._SubParsersAction)]
    assert any(a.dest == "state_dir" for a in sub.choices["status"]._actions)
    assert not any(a.dest == "acme_directory" for a in sub.choices["issue"]._actions)
