"""``tlsprov plugins [NAME]``: each provider and target with the distribution that supplies it.

Every factory is built once without options to find broken plugins (one whose factory raises
something other than a tlsprov error, an ImportError included). A name two plugins claim is
listed with both and reported as an error (exit 1); everything else keeps working.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tlsprov.cli._output import Output

if TYPE_CHECKING:
    from tlsprov.plugins.registry import Registry

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = sub.add_parser(
        "plugins",
        help="list providers and installer targets and where they come from",
        description="List every provider and target with its distribution, options and state; "
        "with NAME, show one of them in full.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="show this provider or target")
    add_json(p)


def _state(reg: Registry, kind: str, name: str) -> tuple[str, str]:
    """``("ok" | "broken" | "clash", problem)`` for one name."""
    from tlsprov.errors import PluginFailure, TlsprovError

    conflict = reg.conflict(kind, name)
    if conflict is not None:
        return "clash", conflict.one_line()
    try:
        if kind == "provider":
            reg.get_provider(name)
        else:
            reg.get_target(name)
    except PluginFailure as exc:
        return "broken", exc.one_line()
    except TlsprovError:
        return "ok", ""  # it wants options: that is not broken
    return "ok", ""


def _entries(reg: Registry, kind: str) -> list[dict[str, Any]]:
    entries = []
    for name, claims in reg.claims(kind).items():
        state, problem = _state(reg, kind, name)
        for found in claims:
            declared = found.spec.options
            entries.append(
                {
                    "name": name,
                    "kind": kind,
                    "plugin": found.plugin,
                    "source": found.source,
                    "description": found.spec.description,
                    "options": None if declared is None else [o.to_json() for o in declared],
                    "state": state,
                    "problem": problem or None,
                }
            )
    return entries


def _line(entry: dict[str, Any]) -> str:
    mark = "" if entry["state"] == "ok" else f"  [{entry['state']}]"
    return f"  {entry['name']:<14} {entry['source']:<22} {entry['description']}{mark}"


def _detail(entries: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for e in entries:
        lines += [
            f"{e['kind']} {e['name']}: {e['description']}",
            f"  from:    plugin '{e['plugin']}' ({e['source']})",
            f"  state:   {e['state']}" + (f" ({e['problem']})" if e["problem"] else ""),
        ]
        table = f"[provider.{e['name']}]" if e["kind"] == "provider" else f"[targets.{e['name']}]"
        if e["options"] is None:
            lines.append(f"  options: not declared (passed through from {table} and -o as given)")
        elif not e["options"]:
            lines.append(f"  options: none ({table} must stay empty)")
        else:
            lines.append(f"  options ({table}):")
            for o in e["options"]:
                default = "" if o["default"] is None else f" = {o['default']!r}"
                lines.append(f"    {o['name']} ({o['type']}{default}): {o['help']}")
    return lines


def run(args: argparse.Namespace, out: Output) -> int:
    """List providers, targets, clashes and plugins that failed to load."""
    from tlsprov.errors import PluginError
    from tlsprov.plugins.registry import default_registry

    reg = default_registry()
    providers = _entries(reg, "provider")
    targets = _entries(reg, "target")
    errors = [e.one_line() for e in reg.load_errors]
    conflicts = [c.one_line() for c in reg.conflicts()]
    if args.name is not None:
        chosen = [e for e in providers + targets if e["name"] == args.name]
        if not chosen:
            names = sorted({e["name"] for e in providers + targets})
            raise PluginError(
                f"no provider or target is called '{args.name}'; choose one of: {', '.join(names)}"
            )
        out.result({"plugins": chosen, "conflicts": conflicts}, _detail(chosen))
        return 1 if any(e["state"] == "clash" for e in chosen) else 0
    lines = ["providers:", *map(_line, providers), "targets:", *map(_line, targets)]
    for err in errors:
        out.warn(err)
    for entry in providers + targets:
        if entry["state"] == "broken":
            out.warn(f"{entry['kind']} '{entry['name']}' is broken: {entry['problem']}")
    out.result(
        {
            "ok": not conflicts,
            "providers": providers,
            "targets": targets,
            "errors": errors,
            "conflicts": conflicts,
            "blocked": reg.plugins.blocked,
        },
        lines,
    )
    for conflict in conflicts:
        out.info(f"tlsprov: error: {conflict}")
    return 1 if conflicts else 0
