"""``tlsprov trust``: make one machine a client of a registry, and nothing more.

The CA comes from a file or from Harbor's ``GET /api/v2.0/systeminfo/getcert``. A fetched CA
is never trusted on first use: every certificate in it must be pinned by a SHA-256
fingerprint, and the server must then present a chain that verifies to it for the host. The
client-only behaviour of the built-in targets lays out the files, and the install engine
applies them (backup, atomic writes, rollback). No server key is read or written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError
from tlsprov.install.planning import OS_TRUST, InstallPlan, assemble_plan, assess
from tlsprov.models import CommandStep, InstallContext, IssuedBundle, Plan
from tlsprov.pki.pinning import check_pins, fetch_harbor_ca, load_ca_file
from tlsprov.pki.x509 import split_pem

if TYPE_CHECKING:
    from tlsprov.install.result import InstallResult
    from tlsprov.plugins.registry import Registry
    from tlsprov.runner import CommandRunner

__all__ = [
    "CLIENT_TARGETS",
    "TrustOutcome",
    "apply_trust",
    "default_targets",
    "plan_trust",
    "trust",
]

CLIENT_TARGETS = ("docker", "containerd", "podman", OS_TRUST)
# Where a target counts as present under the root: a configuration folder or a program.
_SIGNS = {
    "docker": ("etc/docker", "docker", "dockerd"),
    "containerd": ("etc/containerd", "containerd"),
    "podman": ("etc/containers", "podman", "skopeo", "buildah"),
}
_BIN_DIRS = ("usr/bin", "usr/sbin", "usr/local/bin", "bin", "sbin")


def default_targets(root: Path) -> list[str]:
    """The engines found under ``root`` (a config folder or program), plus the OS store."""
    from tlsprov.install.targets.ostrust import detect_family

    found = [
        name
        for name, signs in _SIGNS.items()
        if (root / signs[0]).is_dir()
        or any((root / d / prog).exists() for prog in signs[1:] for d in _BIN_DIRS)
    ]
    try:
        detect_family(InstallContext(root=root, host="localhost"))
    except InputError:
        pass
    else:
        found.append(OS_TRUST)
    return found


def _placeholder(ca_pem: bytes) -> IssuedBundle:
    """A bundle that only carries the CA: client-only targets read nothing else."""
    return IssuedBundle(private_key_pem=b"", leaf_pem=split_pem(ca_pem)[0], ca_pem=ca_pem)


def _restart_containerd(plan: Plan) -> Plan:
    why = "the OS trust store changed and containerd reads system roots only at start"
    step = CommandStep(argv=("systemctl", "restart", "containerd"), reason=why, always=True)
    return dataclasses.replace(
        plan,
        commands=(*plan.commands, step),
        notes=(*plan.notes, f"containerd will be restarted: {why}"),
    )


def plan_trust(
    context: InstallContext,
    ca_pem: bytes,
    targets: Sequence[str],
    *,
    registry: Registry | None = None,
) -> InstallPlan:
    """Plan the client files for ``targets`` (os-trust first); change nothing.

    Raises:
        InputError: an unknown or server-side target, a bad client bundle, a host problem.
    """
    from tlsprov.pki.bundlecheck import check_client_bundle

    names = list(dict.fromkeys(targets))
    if not names:
        raise InputError(
            "no trust targets: no container engine or supported OS store was found",
            hint=f"pass --targets with some of {','.join(CLIENT_TARGETS)}",
        )
    for name in names:
        if name not in CLIENT_TARGETS:
            raise InputError(
                f"'{name}' is not a client target",
                hint=f"trust installs into {', '.join(CLIENT_TARGETS)}; use 'tlsprov install' "
                "on the Harbor host",
            )
    warnings: list[str] = []
    if context.client_bundle is not None:
        warnings += check_client_bundle(context.client_bundle)
    if registry is None:
        from tlsprov.plugins.registry import default_registry

        registry = default_registry()
    context = dataclasses.replace(context, client_only=True)
    bundle = _placeholder(ca_pem)
    order = ([OS_TRUST] if OS_TRUST in names else []) + [n for n in names if n != OS_TRUST]
    plans: list[Plan] = []
    for name in order:
        plan = dataclasses.replace(registry.get_target(name).plan(bundle, context), target=name)
        if name == OS_TRUST and any(assess(name, w, context.root).changed for w in plan.writes):
            context = dataclasses.replace(context, os_trust_changed=True)
        if name == "containerd" and context.os_trust_changed:
            plan = _restart_containerd(plan)
        plans.append(plan)
    client_key = context.client_bundle.private_key_pem if context.client_bundle else None
    for plan in plans:
        for write in plan.writes:
            if write.secret and (write.content != client_key or not client_key):
                raise InputError(f"target '{plan.target}' planned a private key at {write.path}")
    return assemble_plan(context, plans, warnings=warnings)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustOutcome:
    """What :func:`apply_trust` did: the plan, the engine's result, the CA's fingerprints."""

    plan: InstallPlan
    result: InstallResult
    fingerprints: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when a file was written."""
        return self.result.changed

    @property
    def restarts(self) -> list[str]:
        """The services restarted (or, in a dry run, to be restarted)."""
        return [
            step.argv[-1]
            for _, step in self.plan.commands()
            if step.argv[:2] == ("systemctl", "restart")
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        from tlsprov.install.render import plan_to_json

        return {
            "command": "trust",
            "registry": self.plan.context.registry,
            "source": self.source,
            "fingerprints": list(self.fingerprints),
            "targets": [p.target for p in self.plan.plans],
            "changed": self.changed,
            "restarts": self.restarts if self.plan.changed else [],
            "warnings": list(self.warnings + self.result.warnings),
            "plan": plan_to_json(self.plan),
            "result": self.result.to_json(),
        }


def apply_trust(
    context: InstallContext,
    ca_pem: bytes,
    targets: Sequence[str],
    *,
    fingerprints: Sequence[str],
    source: str,
    state_dir: Path | None = None,
    dry_run: bool = False,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
    warnings: Sequence[str] = (),
) -> TrustOutcome:
    """Recover an interrupted install, plan, then apply (or only render, for a dry run).

    Raises:
        InputError: see :func:`plan_trust`.
        InstallError: a write or command failed (everything was rolled back).
    """
    from tlsprov.install.engine import apply_install
    from tlsprov.install.rollback import recover_interrupted

    notes = list(warnings)
    if not dry_run:
        recovered = recover_interrupted(
            context.root, state_dir, runner=runner, lock_timeout=lock_timeout
        )
        if recovered is not None:
            notes.append(f"rolled back an interrupted install first ({recovered.notes[0]})")
    plan = plan_trust(context, ca_pem, targets)
    result = apply_install(
        plan, state_dir=state_dir, dry_run=dry_run, runner=runner, lock_timeout=lock_timeout
    )
    return TrustOutcome(
        plan=plan,
        result=result,
        fingerprints=tuple(fingerprints),
        source=source,
        warnings=tuple(notes),
    )


def trust(
    host: str,
    port: int = 443,
    *,
    root: Path = Path("/"),
    ca_file: Path | None = None,
    from_harbor: bool = False,
    fingerprints: Sequence[str] = (),
    connect: tuple[str, int] | None = None,
    client_bundle: Path | None = None,
    targets: Sequence[str] | None = None,
    state_dir: Path | None = None,
    dry_run: bool = False,
    timeout: float = 10.0,
    runner: CommandRunner | None = None,
) -> TrustOutcome:
    """Everything ``tlsprov trust`` (and the Ansible module) does, from plain arguments.

    Raises:
        InputError: bad arguments, an unpinned or non-CA certificate, a host problem.
        VerifyError: ``from_harbor`` and the registry cannot be reached or does not verify.
        InstallError: applying failed and was rolled back.
    """
    from tlsprov.pki.bundleio import read_bundle
    from tlsprov.pki.x509 import parse_identity
    from tlsprov.runner import CommandRunner

    if (ca_file is None) == (not from_harbor):
        raise InputError(
            "give exactly one CA source", hint="pass --ca FILE or --from-harbor --fingerprint FP"
        )
    name = str(parse_identity(host))
    if not root.is_dir():
        raise InputError(f"the root {root} is not a folder", hint="pass an existing --root")
    if not timeout > 0:
        raise InputError(f"the timeout must be positive, got {timeout}")
    root = root.resolve()
    client = read_bundle(client_bundle) if client_bundle is not None else None
    chosen = list(targets) if targets is not None else default_targets(root)
    warnings: list[str] = []
    if ca_file is None:
        ca_pem, found, warnings = fetch_harbor_ca(
            name, port, fingerprints, connect=connect, timeout=timeout
        )
        source = "harbor"
    else:
        ca_pem, found = load_ca_file(ca_file)
        if fingerprints:
            check_pins(found, fingerprints, str(ca_file))
        source = str(ca_file)
    runner = runner or CommandRunner()
    context = InstallContext(
        root=root, host=name, port=port, client_only=True, client_bundle=client, runner=runner
    )
    return apply_trust(
        context,
        ca_pem,
        chosen,
        fingerprints=found,
        source=source,
        state_dir=state_dir,
        dry_run=dry_run,
        runner=runner,
        warnings=warnings,
    )
