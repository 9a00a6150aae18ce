"""Harbor's internal TLS: issue, renew and report the set between Harbor's components.

The set comes from its own private CA (the ``selfsigned`` provider, kept in
``<state>/internal-tls/ca``), separate from the external certificate's CA and much longer-lived
than the leaves, so renewing leaves never forces a CA change. It is checked as a whole before
anything is written, then installed through the install engine (backup, rollback, lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError, InputError
from tlsprov.install.internaltls import plan_internal_tls
from tlsprov.lifecycle.config import Config
from tlsprov.lifecycle.provision import context_for
from tlsprov.models import CertificateRequest, InstallContext, KeyType, Usage
from tlsprov.pki.internalset import (
    CA_FILE,
    Component,
    LeafState,
    check_set,
    components_for,
    describe_set,
)
from tlsprov.pki.x509 import load_cert, now_utc
from tlsprov.plugins.managed import issue_each
from tlsprov.plugins.registry import Registry, default_registry
from tlsprov.runner import CommandRunner

__all__ = ["InternalTlsResult", "InternalTlsStatus", "internal_tls_status", "provision_internal"]

REQUIRED_DATA_VOLUME = PurePosixPath("/data")
_CA_SUBJECT = "/O=tlsprov/CN=tlsprov Harbor internal CA"


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalTlsResult:
    """What ``tlsprov internal-tls issue|renew`` did. Holds no key material."""

    operation: str
    issued: bool
    reason: str
    changed: bool = False
    files: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    backup: str | None = None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    plan: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "operation": self.operation,
            "issued": self.issued,
            "reason": self.reason,
            "changed": self.changed,
            "files": list(self.files),
            "commands": list(self.commands),
            "backup": self.backup,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "plan": list(self.plan),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalTlsStatus:
    """The internal set as ``status`` shows it."""

    dir: PurePosixPath
    ca: LeafState | None
    leaves: tuple[LeafState, ...] = ()
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    now: dt.datetime = field(default_factory=now_utc)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""

        def entry(s: LeafState) -> dict[str, Any]:
            days = round(s.days_left(self.now), 1)
            return {"file": s.file, "not_after": s.not_after.isoformat(), "days_left": days}

        return {
            "dir": str(self.dir),
            "ca": entry(self.ca) if self.ca else None,
            "leaves": [entry(s) for s in self.leaves],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """Human lines."""
        out = [f"internal TLS set in {self.dir}:"]
        for s in ([self.ca] if self.ca else []) + list(self.leaves):
            out.append(f"  {s.file + '.crt':<28} {s.days_left(self.now):7.1f} days left")
        out += [f"  problem: {p}" for p in self.problems]
        return out


@dataclass(frozen=True, slots=True)
class _Site:
    """What internal TLS needs to know about this Harbor installation."""

    context: InstallContext
    tls_dir: PurePosixPath
    data_volume: PurePosixPath
    components: tuple[Component, ...]
    trivy: bool
    exporter: bool


def _site(config: Config, runner: CommandRunner | None, with_trivy: bool | None) -> _Site:
    from tlsprov.install.targets._common import read_host_text
    from tlsprov.install.targets.harbor import uses_trivy
    from tlsprov.install.targets.harboryml import HarborYml

    it = config.harbor.internal_tls
    if not it.enabled:
        raise ConfigError(
            "internal TLS is not enabled",
            source=str(config.source) if config.source else None,
            key="harbor.internal_tls.enabled",
            hint="set enabled = true in [harbor.internal_tls]",
        )
    context = context_for(config, runner)
    yml_path = context.harbor_dir / "harbor.yml"
    text = read_host_text(context, yml_path)
    if text is None:
        raise InputError(
            f"{yml_path} does not exist",
            hint="set [harbor] install_dir to Harbor's install folder (it holds harbor.yml)",
        )
    yml = HarborYml.parse(text, source=str(yml_path))
    data_volume = config.harbor.data_volume or yml.data_volume
    if data_volume != REQUIRED_DATA_VOLUME:
        raise InputError(
            f"internal TLS needs Harbor's data_volume to be /data, not {data_volume}: Harbor's "
            "prepare looks for the internal CA at the fixed path /data/secret/tls and, with "
            "another data volume, leaves the components without it",
            hint="move data_volume to /data, or leave internal TLS off",
        )
    compose = read_host_text(context, context.harbor_dir / "docker-compose.yml")
    trivy = with_trivy if with_trivy is not None else it.with_trivy
    if trivy is None:
        trivy = uses_trivy(compose)
    metric = yml.doc.get("metric")
    exporter = isinstance(metric, dict) and metric.get("enabled") is True
    external_db = isinstance(yml.doc.get("external_database"), dict)
    return _Site(
        context=context,
        tls_dir=it.dir,
        data_volume=data_volume,
        components=components_for(trivy=trivy, external_database=external_db),
        trivy=trivy,
        exporter=exporter,
    )


def _names(site: _Site) -> list[str]:
    return [f"{CA_FILE}.crt", f"{CA_FILE}.key"] + [
        f"{c.file}.{ext}" for c in site.components for ext in ("crt", "key")
    ]


def _read_set(site: _Site) -> dict[str, bytes]:
    folder = site.context.host_path(site.tls_dir)
    found = {}
    for name in _names(site):
        path = folder / name
        if path.is_symlink():
            raise InputError(
                f"{site.tls_dir / name} is a symbolic link; Harbor's prepare needs regular files",
                hint="replace it with the file itself",
            )
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            found[name] = path.read_bytes()
    return found


@contextlib.contextmanager
def _ca_dir(config: Config, dry_run: bool) -> Iterator[Path]:
    real = config.state_path / "internal-tls" / "ca"
    if dry_run and not (real / "ca.crt").exists():
        with tempfile.TemporaryDirectory(prefix="tlsprov-internal-ca-") as tmp:
            yield Path(tmp) / "ca"  # a throwaway CA: a dry run writes nothing
        return
    yield real


def _issue_set(config: Config, site: _Site, registry: Registry, ca_dir: Path) -> dict[str, bytes]:
    it = config.harbor.internal_tls
    key_type = KeyType.parse(it.key_type)
    provider = registry.get_provider(
        "selfsigned",
        {"ca_dir": str(ca_dir), "key_type": key_type.value, "days": it.ca_days,
         "subject": _CA_SUBJECT},
    )  # fmt: skip
    # The leaves go through the provider itself, and the whole set is then checked by
    # check_set (key, names, usages, issuer, dates) before anything is written: the per-bundle
    # host check knows host names, not Compose service names such as harbor_db.
    # All at once: the selfsigned provider generates the (by default RSA-4096) keys side by side.
    requests = [
        CertificateRequest(
            dns_names=(component.service,),
            usage=Usage.SERVER_AND_CLIENT,
            key_type=key_type,
            validity_days=it.days,
        )
        for component in site.components
    ]
    files: dict[str, bytes] = {}
    bundles = issue_each(provider.impl, requests)
    for component, bundle in zip(site.components, bundles, strict=True):
        files[f"{component.file}.crt"] = bundle.leaf_pem
        files[f"{component.file}.key"] = bundle.private_key_pem
        files[f"{CA_FILE}.crt"] = bundle.ca_pem
    files[f"{CA_FILE}.key"] = (ca_dir / "ca.key").read_bytes()
    return files


def _due(config: Config, current: dict[str, bytes], site: _Site) -> str | None:
    """Why the current leaves must be renewed, or None when they are fine."""
    ca, leaves = describe_set(current, site.components)
    now = now_utc()
    for leaf in leaves:
        cert = load_cert(current[f"{leaf.file}.crt"], source=f"{leaf.file}.crt")
        lifetime = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
        remaining = (cert.not_valid_after_utc - now).total_seconds()
        if config.renew.before.due(lifetime, remaining):
            return (
                f"{leaf.file}.crt is within the renewal window ({config.renew.before.describe()})"
            )
    if ca is not None and leaves and ca.not_after <= max(leaf.not_after for leaf in leaves):
        return "the internal CA expires with its leaves"
    return None


def provision_internal(
    config: Config,
    *,
    renew: bool = False,
    force: bool = False,
    dry_run: bool = False,
    with_trivy: bool | None = None,
    runner: CommandRunner | None = None,
    registry: Registry | None = None,
) -> InternalTlsResult:
    """Issue (or, with ``renew``, renew when due) Harbor's internal TLS set and install it.

    Raises:
        ConfigError: ``[harbor.internal_tls]`` is not enabled.
        InputError: data_volume is not /data, harbor.yml is unusable, or (without ``force``)
            the existing set is incomplete or broken; nothing was written.
        InstallError: writing or restarting failed; everything was rolled back.
    """
    from tlsprov.install.engine import apply_install
    from tlsprov.install.planning import assemble_plan

    site = _site(config, runner, with_trivy)
    reg = registry or default_registry()
    current = _read_set(site)
    operation = "renew" if renew else "issue"
    broken = check_set(current, site.components) if current else []
    if broken and not force:
        raise InputError(
            f"the internal TLS set in {site.tls_dir} is unusable: {'; '.join(broken)}",
            hint="fix or remove those files, or make a new set with "
            "'tlsprov internal-tls issue --force'",
        )
    if not current and renew:
        raise InputError(
            f"there is no internal TLS set in {site.tls_dir} to renew",
            hint="make one with 'tlsprov internal-tls issue'",
        )
    reason = "forced" if force else ("no set yet" if not current else None)
    if reason is None and renew:
        reason = _due(config, current, site)
        if reason is None:
            return InternalTlsResult(
                operation=operation, issued=False, reason="not due: every leaf is valid"
            )
    with _ca_dir(config, dry_run) as ca_dir:
        files = dict(current) if reason is None else _issue_set(config, site, reg, ca_dir)
    problems = check_set(files, site.components)
    if problems:  # a provider that returned something Harbor cannot use: write nothing
        raise InputError(f"the new internal TLS set is unusable: {'; '.join(problems)}")
    ca_changed = current.get(f"{CA_FILE}.crt") != files[f"{CA_FILE}.crt"]
    plan = plan_internal_tls(
        files,
        site.context,
        tls_dir=site.tls_dir,
        data_volume=site.data_volume,
        trivy=site.trivy,
        ca_changed=ca_changed,
        exporter=site.exporter,
        renewed=reason is not None,
    )
    install_plan = assemble_plan(site.context, [plan])
    result = apply_install(
        install_plan, state_dir=config.state_path, dry_run=dry_run, runner=runner
    )
    return InternalTlsResult(
        operation="dry-run" if dry_run else operation,
        issued=reason is not None,
        reason=reason or "the set is valid; checked its installation",
        changed=result.changed,
        files=result.changed_files,
        commands=tuple(" ".join(c) for c in result.commands),
        backup=str(result.backup_dir) if result.backup_dir else None,
        warnings=result.warnings,
        notes=result.notes,
        plan=result.plan,
    )


def internal_tls_status(
    config: Config, *, with_trivy: bool | None = None, now: dt.datetime | None = None
) -> InternalTlsStatus:
    """Each internal certificate's days left, the problems of the set, and CA warnings."""
    site = _site(config, None, with_trivy)
    current = _read_set(site)
    moment = now or now_utc()
    ca, leaves = describe_set(current, site.components)
    problems = check_set(current, site.components, now=moment) if current else ["no set yet"]
    warnings = []
    if ca is not None:
        left = ca.days_left(moment)
        if left <= config.harbor.internal_tls.days:
            warnings.append(
                f"the internal CA expires in {left:.0f} days, within one leaf lifetime: move "
                f"{config.state_dir / 'internal-tls' / 'ca'} aside and run "
                "'tlsprov internal-tls issue --force' for a new CA and set"
            )
    return InternalTlsStatus(
        dir=site.tls_dir,
        ca=ca,
        leaves=tuple(leaves),
        problems=tuple(problems),
        warnings=tuple(warnings),
        now=moment,
    )
