"""``tlsprov plugins``: each provider and target with the distribution that supplies it."""

from __future__ import annotations

import argparse
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = sub.add_parser(
        "plugins", help="list providers and installer targets and where they come from"
    )
    add_json(p)


def run(args: argparse.Namespace, out: Output) -> int:
    """List providers, targets and plugins that failed to load."""
    from tlsprov.plugins.registry import default_registry

    reg = default_registry()
    providers = [
        {"name": n, "plugin": r.plugin, "source": r.source, "description": r.spec.description}
        for n, r in reg.providers().items()
    ]
    targets = [
        {"name": n, "plugin": r.plugin, "source": r.source, "description": r.spec.description}
        for n, r in reg.targets().items()
    ]
    errors = [e.one_line() for e in reg.load_errors]
    lines = ["providers:"]
    lines += [f"  {p['name']:<14} {p['source']:<22} {p['description']}" for p in providers]
    lines.append("targets:")
    lines += [f"  {t['name']:<14} {t['source']:<22} {t['description']}" for t in targets]
    for err in errors:
        out.warn(err)
    out.result(
        {
            "providers": providers,
            "targets": targets,
            "errors": errors,
            "blocked": reg.plugins.blocked,
        },
        lines,
    )
    return 0
