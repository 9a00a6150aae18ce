"""The main job: issue (or reuse), install to every target, verify the live endpoint.

``provision(config)`` and ``renew(config)`` tie the pieces together: the registry gives the
provider and targets, the state store keeps lineages, the installer writes and rolls back, and
the verifier checks the live registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsprov.errors import InputError, TlsprovError
from tlsprov.lifecycle.config import Config
from tlsprov.lifecycle.lineage import LineageMeta, StateStore, journal_labels
from tlsprov.lifecycle.livecheck import live_check
from tlsprov.models import InstallContext, IssuedBundle
from tlsprov.pki.x509 import covers, load_cert, make_request, now_utc, san_identities
from tlsprov.plugins.registry import ManagedProvider, Registry, default_registry
from tlsprov.runner import CommandRunner

__all__ = [
    "ProvisionResult",
    "context_for",
    "live_check",
    "provider_options",
    "provision",
    "wants_new_certificate",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionResult:
    """What ``provision`` or ``renew`` did for one certificate."""

    hostname: str
    provider: str
    issued: bool
    reason: str
    changed: bool
    dry_run: bool = False
    files: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()
    verified: bool | None = None
    meta: LineageMeta | None = None
    backup: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (no key material)."""
        return {
            "hostname": self.hostname,
            "provider": self.provider,
            "issued": self.issued,
            "reason": self.reason,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "files": list(self.files),
            "commands": list(self.commands),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "plan": list(self.plan),
            "verified": self.verified,
            "backup": self.backup,
            "certificate": self.meta.to_json() if self.meta else None,
            **self.extra,
        }


def provider_options(config: Config, registry: Registry) -> dict[str, Any]:
    """The provider's options, with every folder it writes under the install root.

    With a root other than ``/``, an absolute path in one of the spec's ``written_paths`` is
    joined to the root (unless it already lies inside it), and a missing ``state_option`` is
    ``<state folder>/<provider>``: nothing the provider writes lands outside the sandbox.

    Raises:
        ConfigError: such a path is relative while a root is set.
    """
    from tlsprov.errors import ConfigError

    options = dict(config.provider_options)
    root = config.install.root
    found = registry.providers().get(config.provider_name)
    if found is None or root == Path("/"):
        return options
    spec = found.spec
    for key in spec.written_paths:
        value = options.get(key)
        if value is None or not str(value):
            continue
        path = Path(str(value))
        if not path.is_absolute():
            raise ConfigError(
                f"must be an absolute path when [install] root is set, got {str(value)!r}",
                source=str(config.source) if config.source else None,
                key=f"provider.{config.provider_name}.{key}",
                hint="write the path as the host sees it; tlsprov puts it under the root",
            )
        if not path.is_relative_to(root):
            options[key] = str(root.joinpath(*path.parts[1:]))
    if spec.state_option and options.get(spec.state_option) is None:
        options[spec.state_option] = str(config.state_path / config.provider_name)
    return options


def context_for(config: Config, runner: CommandRunner | None = None) -> InstallContext:
    """The installer context described by ``config``."""
    h = config.harbor
    return InstallContext(
        root=config.install.root,
        host=h.hostname,
        port=h.https_port,
        alt_names=h.alt_names,
        harbor_dir=h.install_dir,
        data_volume=h.data_volume,
        client_only=config.install.client_only,
        restart_docker=config.install.restart_docker,
        runner=runner or CommandRunner(timeout=config.install.command_timeout),
        harbor_dir_setting=f"[harbor] install_dir in {config.source or 'the config'}",
        harbor_reload=h.reload,
    )


def wants_new_certificate(
    config: Config, existing: tuple[IssuedBundle, LineageMeta] | None
) -> str | None:
    """Why a new certificate is needed (``None`` when the existing one can be reused)."""
    if existing is None:
        return "no certificate yet"
    bundle, meta = existing
    if meta.provider != config.provider_name:
        return f"provider changed from {meta.provider} to {config.provider_name}"
    profile = acme_profile(config)
    if meta.profile != profile:
        return f"ACME profile changed from {meta.profile or 'none'} to {profile or 'none'}"
    leaf = load_cert(bundle.leaf_pem)
    dns, ips = san_identities(leaf)
    for name in (config.harbor.hostname, *config.harbor.alt_names):
        if not covers(dns, ips, name):
            return f"the certificate does not cover {name}"
    now = now_utc()
    lifetime = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds()
    remaining = (leaf.not_valid_after_utc - now).total_seconds()
    if remaining <= 0:
        return "the certificate has expired"
    if config.renew.before.due(lifetime, remaining):
        return f"inside the renewal window ({config.renew.before.describe()} before expiry)"
    return None


def acme_profile(config: Config) -> str:
    """The ACME profile the provider options ask for (``shortlived``...), or empty."""
    value = config.provider_options.get("profile")
    return value if isinstance(value, str) else ""


def placeholder_bundle(config: Config, registry: Registry) -> IssuedBundle:
    """A throw-away certificate covering the configured names, for dry-run plans only.

    It comes from the bundled ``selfsigned`` provider with a CA in a temporary folder, so a dry
    run neither creates the real CA nor places an ACME order.
    """
    import logging
    import tempfile

    logger = logging.getLogger("tlsprov")
    level = logger.level
    logger.setLevel(logging.WARNING)  # the stand-in CA's "created a new CA" would mislead
    try:
        with tempfile.TemporaryDirectory(prefix="tlsprov-dry-run-") as tmp:
            stand_in = registry.get_provider("selfsigned", {"ca_dir": tmp, "key_type": "ec256"})
            return stand_in.impl.issue(
                make_request([config.harbor.hostname, *config.harbor.alt_names], key_type="ec256")
            )
    finally:
        logger.setLevel(level)


def provision(
    config: Config,
    *,
    dry_run: bool = False,
    verify: bool | None = None,
    registry: Registry | None = None,
    runner: CommandRunner | None = None,
    force_issue: bool = False,
    action: str = "provision",
    lock_timeout: float = 0.0,
) -> ProvisionResult:
    """Issue (or reuse) the certificate, install it everywhere, and verify the live endpoint.

    A failure after the first write rolls the installation back and returns the lineage to its
    previous version, then re-raises. The state folder's lock is held throughout, so two runs
    on one root never interleave. ``dry_run`` issues nothing and touches nothing: it shows the
    plan for the existing certificate, or says a new one would be issued.
    """
    reg = registry or default_registry()
    # Before the lock and before anything else: an unknown provider or a bad option in the
    # config changes nothing, even when a still-valid certificate could be reused.
    provider = reg.get_provider(
        config.provider_name, provider_options(config, reg), source=config.options_source
    )
    preflight = getattr(provider.impl, "preflight", None)
    if callable(preflight):  # e.g. an unset passphrase variable: before the lock, too
        preflight()
    if dry_run:
        return _provision(
            config,
            provider,
            dry_run=True,
            registry=reg,
            runner=runner,
            force_issue=force_issue,
            action=action,
            verify=verify,
        )
    from tlsprov.fsops import refuse_symlinks
    from tlsprov.install.lockfile import hold_lock

    if not config.install.root.is_dir():
        raise InputError(
            f"the install root {config.install.root} is not a folder",
            hint="create it, or fix [install] root / --root",
        )
    refuse_symlinks(config.state_path, stop=config.install.root)  # e.g. a linked <root>/var
    # Bad input (an unknown target, a broken harbor.yml, an unknown OS) must change nothing, not
    # even the lock file: plan once as a dry run first, which writes nothing.
    _provision(
        config,
        provider,
        dry_run=True,
        registry=reg,
        runner=runner,
        force_issue=force_issue,
        action=action,
        verify=verify,
    )
    runner = runner or CommandRunner(timeout=config.install.command_timeout)
    with hold_lock(config.state_path, timeout=lock_timeout):
        recovered = _recover(config, runner)
        result = _provision(
            config,
            provider,
            dry_run=False,
            registry=reg,
            runner=runner,
            force_issue=force_issue,
            action=action,
            verify=verify,
        )
    if recovered:
        from dataclasses import replace

        result = replace(result, warnings=(*recovered, *result.warnings))
    return result


def _recover(config: Config, runner: CommandRunner) -> tuple[str, ...]:
    """Roll back an install a killed run left half-done, before this run plans (lock held)."""
    from tlsprov.install.commands import Commands
    from tlsprov.install.rollback import recover_locked

    root = config.install.root
    recovered = recover_locked(config.state_path, root, Commands(runner, root))
    return () if recovered is None else (*recovered.notes, *recovered.warnings)


def _provision(
    config: Config,
    provider: ManagedProvider,
    *,
    dry_run: bool,
    verify: bool | None,
    registry: Registry,
    runner: CommandRunner | None,
    force_issue: bool,
    action: str,
) -> ProvisionResult:
    from tlsprov.install.engine import apply_install, plan_install

    reg = registry
    store = StateStore(config.state_path)
    name = config.harbor.hostname
    existing = store.load(name)
    why_new = "forced" if force_issue else wants_new_certificate(config, existing)
    if why_new is None and existing is not None:
        from tlsprov.lifecycle.rollover import rollover_reason

        why_new = rollover_reason(provider.impl, existing[0])
    if why_new is None and existing is not None:
        bundle, meta = existing
        issued = False
        reason = "the existing certificate is still valid"
    else:
        reason = why_new or "no certificate yet"
        if dry_run:  # issuing has side effects (a new CA, an ACME order): plan with a stand-in
            bundle = placeholder_bundle(config, reg)
        else:
            bundle = provider.issue(
                make_request([config.harbor.hostname, *config.harbor.alt_names])
            )
        meta = LineageMeta.from_bundle(
            name, config.provider_name, bundle, profile=acme_profile(config)
        )
        issued = True
    context = context_for(config, runner)
    install_plan = plan_install(
        bundle,
        context,
        config.install.targets,
        registry=reg,
        target_options=config.target_options,
        options_source=config.options_source,
    )
    do_verify = config.install.verify if verify is None else verify
    if dry_run:
        from tlsprov.install.engine import render_plan

        lines = render_plan(install_plan)
        if issued:
            lines = [
                f"a new certificate would be issued by '{config.provider_name}' ({reason}); "
                "this plan uses a stand-in with the same names, so file contents will differ",
                *lines,
            ]
        return ProvisionResult(
            hostname=name,
            provider=config.provider_name,
            issued=issued,
            reason=reason,
            changed=False,
            dry_run=True,
            plan=tuple(lines),
            meta=None if issued else meta,
        )
    if issued:
        meta = store.save(name, bundle, meta)
    try:
        result = apply_install(
            install_plan,
            state_dir=config.state_path,
            runner=context.runner,
            final_check=live_check(config, bundle) if do_verify else None,
            lock_held=True,
            labels=journal_labels(name, meta, issued=issued),
        )
    except (TlsprovError, KeyboardInterrupt) as exc:  # KeyboardInterrupt: also SIGTERM
        if issued:
            _undo_lineage(store, name, meta)
        why = exc.one_line() if isinstance(exc, TlsprovError) else "stopped"
        store.log(action, hostname=name, outcome=f"failed: {why}")
        raise
    meta = _stamp(meta, action, "ok", config.install.targets)
    store.write_meta(name, meta)
    store.log(action, hostname=name, outcome="ok", issued=issued, changed=result.changed)
    return ProvisionResult(
        hostname=name,
        provider=config.provider_name,
        issued=issued,
        reason=reason,
        changed=result.changed,
        files=tuple(str(p) for p in result.changed_files),
        commands=tuple(" ".join(c) for c in result.commands),
        warnings=result.warnings,
        notes=result.notes,
        verified=True if do_verify else None,
        meta=meta,
        backup=str(result.backup_dir) if result.backup_dir else None,
    )


def _undo_lineage(store: StateStore, name: str, meta: LineageMeta) -> None:
    import shutil

    if meta.version > 1:
        store.restore_previous(name)
    else:
        shutil.rmtree(store.live_dir(name), ignore_errors=True)


def _stamp(meta: LineageMeta, action: str, outcome: str, targets: Sequence[str]) -> LineageMeta:
    from dataclasses import replace

    return replace(
        meta,
        last_action=action,
        last_outcome=outcome,
        last_action_at=now_utc().isoformat(timespec="seconds"),
        targets=tuple(targets),
    )
