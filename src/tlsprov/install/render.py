"""Show an install plan: file actions with diffs, commands in order, warnings and notes.

Private keys never appear: secret files are listed as "(private key, not shown)" and get no
diff, in the text and in the JSON form alike.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsprov.install.planning import FileAction, InstallPlan
    from tlsprov.models import CommandStep

__all__ = ["plan_to_json", "render_lines"]

_MAX_DIFF_LINES = 300


def _diff(action: FileAction) -> list[str] | None:
    """A unified diff of a replaced text file, or None when there is nothing to show."""
    if action.action != "replace" or action.write.secret or action.old_content is None:
        return None
    if action.old_content == action.write.content:
        return None
    try:
        old = action.old_content.decode("utf-8").splitlines()
        new = action.write.content.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return [f"(binary content, {len(action.write.content)} bytes)"]
    lines = list(
        difflib.unified_diff(
            old,
            new,
            fromfile=f"{action.path} (now)",
            tofile=f"{action.path} (new)",
            lineterm="",
        )
    )
    if len(lines) > _MAX_DIFF_LINES:
        lines = [*lines[:_MAX_DIFF_LINES], f"... ({len(lines) - _MAX_DIFF_LINES} more lines)"]
    return lines


def _owner(action: FileAction) -> str:
    if action.write.owner is not None:
        return f"{action.write.owner[0]}:{action.write.owner[1]}"
    return "kept" if action.action != "create" else "default"


def _mode(action: FileAction) -> str:
    if action.old_mode is not None and action.old_mode != action.mode:
        return f"{action.mode:04o} (now {action.old_mode:04o})"
    return f"{action.mode:04o}"


def _describe(action: FileAction) -> str:
    text = action.write.description or ""
    if action.write.secret:
        text = f"{text} (private key, not shown)".strip()
    return text


def _command_text(step: CommandStep) -> str:
    text = " ".join(step.argv)
    if step.fallback_argv:
        text += f" (or {' '.join(step.fallback_argv)} when that is unavailable)"
    if step.check_sha256_of is not None:
        text += f" [check: must show the sha256 of {step.check_sha256_of}]"
    if step.only_if_check_failed:
        text = f"only if that check fails: {text}"
    return text


def render_lines(install_plan: InstallPlan) -> list[str]:
    """The plan as human-readable lines."""
    ctx = install_plan.context
    targets = ", ".join(p.target for p in install_plan.plans)
    lines = [f"plan for {ctx.registry} under {ctx.root} (targets: {targets})"]
    lines.append("files:")
    modes = dict(install_plan.new_dirs)
    shown: set[str] = set()
    for action in install_plan.actions:
        for folder in action.new_dirs:
            if str(folder) not in shown:
                shown.add(str(folder))
                lines.append(f"  create folder {folder}/  mode {modes.get(folder, 0o755):04o}")
        lines.append(
            f"  {action.action:<9} {action.path}  mode {_mode(action)}  owner {_owner(action)}"
            + (f"  {_describe(action)}" if _describe(action) else "")
        )
        diff = _diff(action)
        if diff:
            lines += [f"      {line}" for line in diff]
        elif action.action == "replace" and action.old_content == action.write.content:
            lines.append("      (same content; only the mode or owner changes)")
    for folder, mode in install_plan.tighten_dirs:
        lines.append(f"  tighten folder {folder}/  mode {mode:04o} -> 0700  (it holds a key)")
    if not install_plan.actions:
        lines.append("  (none)")
    commands = install_plan.commands()
    lines.append("commands, in order:" if commands else "commands: none")
    for i, (target, step) in enumerate(commands, 1):
        where = f" in {step.cwd}" if step.cwd is not None else ""
        why = f": {step.reason}" if step.reason else ""
        lines.append(f"  {i}. [{target}] {_command_text(step)}{where}{why}")
    if install_plan.warnings:
        lines.append("warnings:")
        lines += [f"  {w}" for w in install_plan.warnings]
    if install_plan.notes:
        lines.append("notes:")
        lines += [f"  {n}" for n in install_plan.notes]
    if not install_plan.changed:
        lines.append("nothing to do: every file is already in place")
    return lines


def plan_to_json(install_plan: InstallPlan) -> dict[str, Any]:
    """The plan as a JSON-ready dict (no key material)."""
    ctx = install_plan.context
    return {
        "host": ctx.host,
        "port": ctx.port,
        "registry": ctx.registry,
        "root": str(ctx.root),
        "targets": [p.target for p in install_plan.plans],
        "os_trust_changed": ctx.os_trust_changed,
        "changed": install_plan.changed,
        "new_dirs": [{"path": str(p), "mode": f"{m:04o}"} for p, m in install_plan.new_dirs],
        "tighten_dirs": [
            {"path": str(p), "old_mode": f"{m:04o}", "mode": "0700"}
            for p, m in install_plan.tighten_dirs
        ],
        "files": [
            {
                "path": str(a.path),
                "target": a.target,
                "action": a.action,
                "mode": f"{a.mode:04o}",
                "old_mode": f"{a.old_mode:04o}" if a.old_mode is not None else None,
                "owner": list(a.write.owner) if a.write.owner else None,
                "secret": a.write.secret,
                "description": a.write.description,
                "new_dirs": [str(d) for d in a.new_dirs],
                "diff": _diff(a),
            }
            for a in install_plan.actions
        ],
        "commands": [
            {
                "target": target,
                "argv": list(step.argv),
                "fallback_argv": list(step.fallback_argv) if step.fallback_argv else None,
                "cwd": str(step.cwd) if step.cwd is not None else None,
                "reason": step.reason,
                "check_sha256_of": str(step.check_sha256_of) if step.check_sha256_of else None,
                "only_if_check_failed": step.only_if_check_failed,
            }
            for target, step in install_plan.commands()
        ],
        "warnings": list(install_plan.warnings),
        "notes": list(install_plan.notes),
    }
