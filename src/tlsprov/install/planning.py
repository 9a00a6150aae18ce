"""Planning an install: validate the bundle, ask each target for its plan, compare with the host.

Nothing here writes; :mod:`tlsprov.install.engine` applies the :class:`InstallPlan`.
"""

from __future__ import annotations

import dataclasses
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from tlsprov.errors import InputError
from tlsprov.fsops import PRIVATE_DIR, PRIVATE_FILE, refuse_symlinks
from tlsprov.models import CommandStep, FileWrite, InstallContext, Plan
from tlsprov.pki.bundlecheck import check_bundle, check_client_bundle

if TYPE_CHECKING:
    from tlsprov.models import IssuedBundle
    from tlsprov.plugins.registry import Registry

__all__ = ["FileAction", "InstallPlan", "assemble_plan", "assess", "plan_install"]

OS_TRUST = "os-trust"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileAction:
    """What will happen to one file.

    Attributes:
        target: the target that asked for the write.
        write: the target's request.
        action: ``create``, ``replace`` or ``unchanged``.
        mode: the mode the file will have (0600 for secrets).
        old_mode: the current mode, when the file exists.
        old_content: the current bytes, when the file exists (hidden from ``repr``).
        old_owner: the current ``(uid, gid)``, kept on replace unless the write sets one.
        new_dirs: folders that will be created for it (host paths, outermost first).
    """

    target: str
    write: FileWrite
    action: Literal["create", "replace", "unchanged"]
    mode: int
    old_mode: int | None = None
    old_content: bytes | None = field(default=None, repr=False)
    old_owner: tuple[int, int] | None = None
    new_dirs: tuple[PurePosixPath, ...] = ()

    @property
    def path(self) -> PurePosixPath:
        """The host path."""
        return self.write.path

    @property
    def changed(self) -> bool:
        """True unless the file already holds exactly this content and mode."""
        return self.action != "unchanged"


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallPlan:
    """Every target's plan and what each file write will do, computed without side effects.

    Attributes:
        context: the context the targets planned with (``os_trust_changed`` filled in).
        plans: the target plans in run order (os-trust first, then the user's order).
        actions: one entry per file write.
        warnings: bundle-check and target warnings.
        notes: target notes.
        new_dirs: folders to create, outermost first, with their modes (0700 for a folder
            that will hold a private key, else the write's ``dir_mode``; 0755 above that).
        tighten_dirs: existing folders that will hold a private key but are open to others,
            with their current mode: the install makes them 0700 (rollback restores the mode).
    """

    context: InstallContext
    plans: tuple[Plan, ...]
    actions: tuple[FileAction, ...]
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    new_dirs: tuple[tuple[PurePosixPath, int], ...] = ()
    tighten_dirs: tuple[tuple[PurePosixPath, int], ...] = ()

    @property
    def changed(self) -> bool:
        """True when a file will be created or replaced, or a key's folder tightened."""
        return any(a.changed for a in self.actions) or bool(self.tighten_dirs)

    @property
    def changed_targets(self) -> frozenset[str]:
        """Names of the targets with at least one changed file."""
        return frozenset(a.target for a in self.actions if a.changed)

    def commands(self) -> list[tuple[str, CommandStep]]:
        """The commands that will run, in order, with their target's name."""
        changed = self.changed_targets
        return [
            (p.target, step)
            for p in self.plans
            for step in p.commands
            if p.target in changed or step.always
        ]


def _effective_mode(write: FileWrite) -> int:
    return PRIVATE_FILE if write.secret else write.mode


def _missing_dirs(real: Path, root: Path) -> list[Path]:
    missing: list[Path] = []
    current = real.parent
    while current != root and not current.exists() and current.parent != current:
        missing.append(current)
        current = current.parent
    return list(reversed(missing))


def _host(real: Path, root: Path) -> PurePosixPath:
    return PurePosixPath("/") / real.relative_to(root).as_posix()


def _file_in_the_way(path: PurePosixPath, real: Path, root: Path) -> InputError:
    """The error for a file where a folder of ``path`` should be."""
    blocking = next(
        (
            p
            for p in reversed(real.parents)
            if p.is_relative_to(root) and p.exists() and not p.is_dir()
        ),
        real.parent,
    )
    return InputError(
        f"{_host(blocking, root)} is a file, not a folder",
        hint=f"move it out of the way (tlsprov writes {path} inside it) and run again",
    )


def assess(target: str, write: FileWrite, root: Path) -> FileAction:
    """Compare the wanted file with the host (never follows or writes through symlinks)."""
    real = root.joinpath(*write.path.parts[1:])
    refuse_symlinks(real, stop=root)
    mode = _effective_mode(write)
    try:
        st = real.lstat()
    except FileNotFoundError:
        dirs = tuple(_host(d, root) for d in _missing_dirs(real, root))
        return FileAction(target=target, write=write, action="create", mode=mode, new_dirs=dirs)
    except NotADirectoryError:
        raise _file_in_the_way(write.path, real, root) from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError(
            f"{write.path} exists under {root} and is not a regular file",
            hint="move it out of the way and run again",
        )
    try:
        old = real.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {real}: {exc.strerror}") from exc
    old_mode = stat.S_IMODE(st.st_mode)
    same_owner = write.owner is None or write.owner == (st.st_uid, st.st_gid)
    same = old == write.content and old_mode == mode and same_owner
    return FileAction(
        target=target,
        write=write,
        action="unchanged" if same else "replace",
        mode=mode,
        old_mode=old_mode,
        old_content=old,
        old_owner=(st.st_uid, st.st_gid),
    )


def _plan_targets(
    bundle: IssuedBundle,
    context: InstallContext,
    names: Sequence[str],
    registry: Registry,
    settings: tuple[Mapping[str, Mapping[str, Any]], str | None],
) -> tuple[InstallContext, list[Plan], list[FileAction]]:
    options, source = settings
    targets = {n: registry.get_target(n, options.get(n), source=source) for n in names}
    order = ([OS_TRUST] if OS_TRUST in targets else []) + [n for n in names if n != OS_TRUST]
    plans: list[Plan] = []
    actions: list[FileAction] = []
    for name in order:
        plan = targets[name].plan(bundle, context)
        plan = dataclasses.replace(plan, target=name)
        mine = [assess(name, w, context.root) for w in plan.writes]
        if name == OS_TRUST and any(a.changed for a in mine):
            context = dataclasses.replace(context, os_trust_changed=True)
        plans.append(plan)
        actions += mine
    return context, plans, actions


def _dedupe_actions(actions: list[FileAction]) -> list[FileAction]:
    seen: dict[PurePosixPath, FileAction] = {}
    out: list[FileAction] = []
    for action in actions:
        other = seen.get(action.path)
        if other is None:
            seen[action.path] = action
            out.append(action)
        elif other.write.content != action.write.content or other.mode != action.mode:
            raise InputError(
                f"targets '{other.target}' and '{action.target}' both write {action.path} "
                "with different content",
                hint="install those targets in separate runs",
            )
    return out


def _folder_modes(actions: Sequence[FileAction]) -> tuple[tuple[PurePosixPath, int], ...]:
    modes: dict[PurePosixPath, int] = {}
    for action in actions:
        for folder in action.new_dirs:
            modes.setdefault(folder, 0o755)
    for action in actions:  # a file's own folder: 0700 if any key lives there
        parent = action.path.parent
        if parent in modes and action.new_dirs and action.new_dirs[-1] == parent:
            wanted = PRIVATE_DIR if action.write.secret else action.write.dir_mode
            if modes[parent] != PRIVATE_DIR:
                modes[parent] = wanted
    return tuple(modes.items())


def _loose_key_dirs(
    actions: Sequence[FileAction], root: Path
) -> tuple[tuple[PurePosixPath, int], ...]:
    loose: dict[PurePosixPath, int] = {}
    for action in actions:
        parent = action.path.parent
        if not action.write.secret or parent in action.new_dirs or parent in loose:
            continue
        if action.write.dir_mode & 0o077:  # the target keeps a folder laid out by its owner
            continue  # (Harbor's secret/cert is 0755, and prepare makes it so again)
        try:
            mode = stat.S_IMODE(root.joinpath(*parent.parts[1:]).stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            loose[parent] = mode
    return tuple(loose.items())


def plan_install(
    bundle: IssuedBundle,
    context: InstallContext,
    targets: Sequence[str],
    *,
    registry: Registry | None = None,
    target_options: Mapping[str, Mapping[str, Any]] | None = None,
    options_source: str | None = None,
) -> InstallPlan:
    """Validate the bundle and ask each target for its plan; change nothing.

    ``target_options`` maps a target name to its settings (``[targets.NAME]``), given to the
    target's factory; ``options_source`` (the config file) is named in their errors.

    The os-trust target is planned first; when it would change the trust store, the others
    see ``context.os_trust_changed=True`` (Docker then plans a restart).

    Raises:
        InputError: bad bundle PEM, unknown host name, a symlink at a planned path, ...
        LintError: the bundle would not work for this host (every problem listed).
        TargetNotFound: an unknown target name.
    """
    if not targets:
        raise InputError("no installer targets were given", hint="pass --targets harbor,docker")
    names = list(dict.fromkeys(targets))
    warnings = check_bundle(bundle, host=context.host, alt_names=context.alt_names)
    if context.client_bundle is not None:
        warnings += check_client_bundle(context.client_bundle)
    if registry is None:
        from tlsprov.plugins.registry import default_registry

        registry = default_registry()
    settings = (target_options or {}, options_source)
    context, plans, actions = _plan_targets(bundle, context, names, registry, settings)
    final = _dedupe_actions(actions)
    return InstallPlan(
        context=context,
        plans=tuple(plans),
        actions=tuple(final),
        new_dirs=_folder_modes(final),
        tighten_dirs=_loose_key_dirs(final, context.root),
        warnings=tuple(warnings) + tuple(w for p in plans for w in p.warnings),
        notes=tuple(n for p in plans for n in p.notes),
    )


def assemble_plan(
    context: InstallContext, plans: Sequence[Plan], *, warnings: Sequence[str] = ()
) -> InstallPlan:
    """An :class:`InstallPlan` from plans made elsewhere (not by registered targets).

    Raises:
        InputError: two plans write one path with different content, or a planned path is
            unusable.
    """
    actions = [assess(p.target, w, context.root) for p in plans for w in p.writes]
    final = _dedupe_actions(actions)
    return InstallPlan(
        context=context,
        plans=tuple(plans),
        actions=tuple(final),
        new_dirs=_folder_modes(final),
        tighten_dirs=_loose_key_dirs(final, context.root),
        warnings=tuple(warnings) + tuple(w for p in plans for w in p.warnings),
        notes=tuple(n for p in plans for n in p.notes),
    )
