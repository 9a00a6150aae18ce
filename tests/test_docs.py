"""The docs stay true.

Every hook and every CLI option is documented, no documented option or config key is invented,
every documented command line parses, the examples run, and the mkdocs site builds strictly.
"""

from __future__ import annotations

import argparse
import inspect
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tlsprov.plugins import hookspecs

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


def _guide_section(heading: str) -> str:
    guide = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert heading in guide.splitlines(), f"docs/plugins.md lacks the heading {heading!r}"
    return guide.split(heading, 1)[1].split("\n#", 1)[0]


def test_every_declared_option_field_is_documented() -> None:
    import dataclasses

    from tlsprov.plugins.options import OPTION_TYPES, OptionSpec

    section = _guide_section("### Declaring options")
    fields = [f.name for f in dataclasses.fields(OptionSpec)]
    rows = re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)
    assert rows == fields, f"docs/plugins.md declared-option fields: {rows} != {fields}"
    for kind in OPTION_TYPES:
        assert f"`{kind.__name__}`" in section, f"option type {kind.__name__} is undocumented"


@pytest.mark.parametrize(
    ("spec", "hook"),
    [("ProviderSpec", "tlsprov_register_providers"), ("TargetSpec", "tlsprov_register_targets")],
)
def test_every_spec_field_is_documented_with_its_hook(spec: str, hook: str) -> None:
    import dataclasses

    import tlsprov

    section = _guide_section(f"### {hook}()")
    fields = [f.name for f in dataclasses.fields(getattr(tlsprov, spec))]
    assert f"`tlsprov.{spec}({', '.join(fields)})`" in section
    if spec == "ProviderSpec":  # each field has its own bullet
        for name in fields:
            assert f"- `{name}" in section, f"docs/plugins.md does not describe {spec}.{name}"


def test_the_ca_record_is_documented() -> None:
    import dataclasses

    import tlsprov

    fields = [f.name for f in dataclasses.fields(tlsprov.CAInfo)]
    section = " ".join(_guide_section("## Providers").split())
    assert f"`CAInfo({', '.join(fields)})`" in section


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
    assert "TLS handshake with harbor.test: TLSv1." in proc.stdout
    assert "SANs: (('DNS', 'harbor.test'), ('IP Address', '127.0.0.1'))" in proc.stdout
    assert "spare CA: /O=tlsprov/CN=tlsprov Root CA " in proc.stdout
    assert (tmp_path / "spare-ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert "refused: wildcards are not allowed; list each name" in proc.stdout
    assert "unknown provider 'nope'; choose one of: " in proc.stdout
    assert (tmp_path / "certs" / "harbor.test.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "ca" / "ca.crt").is_file()
    assert "provisioned harbor.test issued: True files: 3" in proc.stdout
    assert (tmp_path / "sandbox/etc/docker/certs.d/harbor.test:8443/ca.crt").is_file()
    assert (tmp_path / "sandbox/var/lib/tlsprov/live/harbor.test/meta.json").is_file()


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


# --- the documentation site -------------------------------------------------------------------


def _subcommands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (command words, parser) pair below ``parser``, nested actions included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = (*prefix, name)
                nested = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                if nested:
                    yield from _subcommands(sub, words)
                else:
                    yield words, sub


def _cli_section(words: tuple[str, ...]) -> str:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    heading = f"## tlsprov {' '.join(words)}"
    assert heading in text.splitlines(), f"docs/cli.md lacks the heading {heading!r}"
    return text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]


def test_cli_reference_covers_every_option_of_every_command() -> None:
    from tlsprov.cli import build_parser

    commands = list(_subcommands(build_parser()))
    assert len(commands) >= 9, commands
    missing: list[str] = []
    for words, sub in commands:
        section = _cli_section(words)
        for action in sub._actions:
            for flag in action.option_strings:
                if flag in ("-h", "--help"):
                    continue
                if f"`{flag}" not in section:
                    missing.append(f"tlsprov {' '.join(words)} {flag}")
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                metavar = action.metavar or action.dest.upper()
                if f"`{metavar}`" not in section:
                    missing.append(f"tlsprov {' '.join(words)} {metavar} (positional)")
    assert not missing, f"docs/cli.md does not document: {', '.join(missing)}"


def test_cli_reference_documents_no_option_that_does_not_exist() -> None:
    from tlsprov.cli import build_parser

    commands = dict(_subcommands(build_parser()))
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    documented = re.findall(r"^## tlsprov (.+)$", text, flags=re.MULTILINE)
    assert set(documented) == {" ".join(w) for w in commands}
    for words, sub in commands.items():
        real = {flag for action in sub._actions for flag in action.option_strings}
        rows = re.findall(r"^\| `(--?[\w-]+)", _cli_section(words), flags=re.MULTILINE)
        unknown = sorted(set(rows) - real)
        assert not unknown, f"docs/cli.md documents tlsprov {' '.join(words)} {unknown}"


def _nav_pages() -> list[str]:
    import yaml

    config = yaml.safe_load((DOCS.parent / "mkdocs.yml").read_text(encoding="utf-8"))
    pages: list[str] = []
    for entry in config["nav"]:
        ((_, page),) = entry.items()
        pages.append(page)
    return pages


def test_every_page_in_the_nav_exists_and_every_page_is_in_the_nav() -> None:
    pages = _nav_pages()
    for page in pages:
        assert (DOCS / page).is_file(), f"mkdocs.yml lists {page}, which does not exist"
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk == set(pages), f"pages missing from the nav: {sorted(on_disk - set(pages))}"
    assert "design.md" in pages and "cli.md" in pages


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    # Never add --quiet: it hides the warnings from --strict, which then exits 0.
    mkdocs = Path(sys.executable).with_name("mkdocs")
    proc = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=DOCS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()


def test_configuration_reference_names_every_key() -> None:
    from tlsprov.lifecycle import config
    from tlsprov_letsencrypt._options import ALLOWED as ACME_KEYS
    from tlsprov_selfsigned._provider import _ALLOWED as SELFSIGNED_KEYS

    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for section, keys in config._SECTIONS.items():
        assert f"[{section}]" in text, f"docs/configuration.md lacks [{section}]"
        for key in keys:
            assert f"`{key}`" in text, f"docs/configuration.md lacks {section}.{key}"
    allowed = {f"[{name}]": set(keys) for name, keys in config._SECTIONS.items()}
    allowed["[provider.selfsigned]"] = set(SELFSIGNED_KEYS)
    allowed["[provider.letsencrypt]"] = set(ACME_KEYS)
    tables = re.split(r"^#+ ", text, flags=re.MULTILINE)
    for heading, keys in allowed.items():
        (section,) = [t for t in tables if t.startswith(heading + "\n")]
        rows = set(re.findall(r"^\| `(\w+)`", section, flags=re.MULTILINE))
        assert rows == keys, f"docs/configuration.md {heading}: {sorted(rows ^ keys)}"


def test_config_examples_in_the_docs_are_valid(tmp_path: Path) -> None:
    from tlsprov.lifecycle.config import parse_config

    checked = 0
    for page in ("configuration.md", "harbor-walkthrough.md", "quickstart.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        for block in re.findall(r"^```toml\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
            if "[harbor]" not in block:
                continue
            config = parse_config(tomllib.loads(block), source=tmp_path / page)
            assert not config.warnings, f"{page}: {config.warnings}"
            checked += 1
    assert checked >= 3


def test_every_documented_command_line_parses() -> None:
    import shlex

    from tlsprov.cli import build_parser

    parser = build_parser()
    checked = 0
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
            for line in block.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                if not words or words[0] != "tlsprov" or {"--version", "--help"} & set(words):
                    continue
                try:
                    parser.parse_args(words[1:])
                except Exception as exc:
                    message = f"{page.name}: {line.strip()!r} does not parse: {exc}"
                    raise AssertionError(message) from None
                checked += 1
    assert checked >= 30
