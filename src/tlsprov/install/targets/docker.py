"""The ``docker`` target: ``/etc/docker/certs.d/<host>[:port]/`` and daemon.json checks.

The folder holds ``ca.crt`` and, for mutual TLS, ``client.cert``/``client.key``. Docker loads
*every* ``*.cert``/``*.key`` pair in it as a client certificate, in file-name order, so Harbor's
server pair (the guide's ``HOST.cert``/``HOST.key``) is copied only with ``server_pair = true``
and never beside a client pair: for a host that sorts before ``client`` Docker would offer
Harbor's serverAuth certificate and an mTLS Harbor would answer 400.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError, InputError
from tlsprov.install.targets._common import (
    BuiltinTarget,
    certs_d_folder,
    client_pair_writes,
    read_host_text,
    stray_file_warnings,
)
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.pki.bundleio import bundle_basename

__all__ = ["DockerTarget", "certs_d_plan_parts", "server_pair_option"]

CERTS_D = PurePosixPath("/etc/docker/certs.d")
DAEMON_JSON = PurePosixPath("/etc/docker/daemon.json")
_OPTIONS = frozenset({"server_pair"})


class DockerTarget(BuiltinTarget):
    """Docker Engine's per-registry trust folder: ``ca.crt`` and an optional client pair."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """``options``: the ``[targets.docker]`` table (``server_pair``, default false).

        Raises:
            ConfigError: an unknown option or a ``server_pair`` that is not a boolean.
        """
        super().__init__(options)
        self.server_pair = server_pair_option(self.options, "docker")

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` (plus a client pair, or the guide's server pair) in certs.d.

        Raises:
            InputError: the client bundle is not a clientAuth certificate, or it was given
                together with ``server_pair``.
        """
        folder = certs_d_folder(CERTS_D, context, tool="Docker")
        writes, warnings, notes = certs_d_plan_parts(
            bundle, context, folder, tool="Docker", server_pair=self.server_pair
        )
        warnings.extend(_insecure_registry_warnings(context))

        commands: list[CommandStep] = []
        if context.os_trust_changed or context.restart_docker:
            why = (
                "the OS trust store changed and dockerd reads system roots only at start"
                if context.os_trust_changed
                else "you asked for a Docker restart"
            )
            commands.append(
                CommandStep(argv=("systemctl", "restart", "docker"), reason=why, always=True)
            )
            notes.append(f"Docker will be restarted: {why}")
        else:
            notes.append(
                "no Docker restart needed: dockerd re-reads certs.d on every pull, push and login"
            )
        return Plan(
            target="docker",
            writes=tuple(writes),
            commands=tuple(commands),
            warnings=tuple(warnings),
            notes=tuple(notes),
        )


def server_pair_option(options: Mapping[str, Any] | None, target: str) -> bool:
    """Read ``server_pair`` (default false) from a ``[targets.<target>]`` table.

    Raises:
        ConfigError: an unknown key, or ``server_pair`` is not true or false.
    """
    options = options or {}
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ConfigError(
            f"unknown option {unknown[0]!r} for the {target} target",
            hint=f"[targets.{target}] accepts only: {', '.join(sorted(_OPTIONS))}",
        )
    value = options.get("server_pair", False)
    if not isinstance(value, bool):
        raise ConfigError(
            f"[targets.{target}] server_pair must be true or false, not {value!r}",
            hint="write server_pair = true (the guide's layout) or leave it out",
        )
    return value


def certs_d_plan_parts(
    bundle: IssuedBundle,
    context: InstallContext,
    folder: PurePosixPath,
    *,
    tool: str,
    server_pair: bool,
) -> tuple[list[FileWrite], list[str], list[str]]:
    """The writes, warnings and notes for one certs.d folder (Docker's rules, podman too).

    Raises:
        InputError: ``server_pair`` together with a client bundle, or a client bundle that is
            not a clientAuth certificate.
    """
    pair = server_pair and not context.client_only
    if pair and context.client_bundle is not None:
        raise InputError(
            f"server_pair = true and a client bundle would put two .cert/.key pairs in "
            f"{folder}; {tool} offers every pair there as a client certificate in file-name "
            "order, so Harbor's server certificate could be sent instead of the client one",
            hint=f"drop server_pair from [targets.{tool.lower()}] or the --client-bundle",
        )
    writes: list[FileWrite] = []
    notes: list[str] = []
    if pair:
        stem = bundle_basename(context.host)
        writes.append(
            FileWrite(
                path=folder / f"{stem}.cert",
                content=bundle.fullchain_pem,
                mode=0o644,
                dir_mode=0o700,
                description="Harbor's certificate and chain (the guide's copy, server_pair)",
            )
        )
        writes.append(
            FileWrite(
                path=folder / f"{stem}.key",
                content=bundle.private_key_pem,
                mode=0o600,
                secret=True,
                dir_mode=0o700,
                description="Harbor's private key (the guide's copy, server_pair)",
            )
        )
        notes.append(
            f"server_pair: Harbor's key is copied into {folder} as the guide does; {tool} "
            "offers it as a client certificate, which is harmless only without mutual TLS"
        )
    elif not context.client_only:
        notes.append(
            f"Harbor's server pair is not copied into {folder}: {tool} would offer it as a "
            f"client certificate ([targets.{tool.lower()}] server_pair = true restores the "
            "guide's layout)"
        )
    writes.append(
        FileWrite(
            path=folder / "ca.crt",
            content=bundle.ca_pem,
            mode=0o644,
            dir_mode=0o700 if writes or context.client_bundle else 0o755,
            description=f"the CA {tool} trusts for this registry",
        )
    )
    if context.client_bundle is not None:
        writes.extend(client_pair_writes(context.client_bundle, folder, tool=tool))
    planned = [w.path.name for w in writes]
    warnings = stray_file_warnings(context, folder, planned, tool=tool)
    warnings.extend(_foreign_pair_warnings(context, folder, planned, tool))
    return writes, warnings, notes


def _foreign_pair_warnings(
    context: InstallContext, folder: PurePosixPath, planned: list[str], tool: str
) -> list[str]:
    """Warn about ``X.cert``/``X.key`` pairs already there that tlsprov does not write."""
    try:
        names = {p.name for p in context.host_path(folder).iterdir() if not p.is_dir()}
    except OSError:
        return []
    stems = {n[: -len(".cert")] for n in names if n.endswith(".cert")}
    stems &= {n[: -len(".key")] for n in names if n.endswith(".key")}
    mine = {n[: -len(".cert")] for n in planned if n.endswith(".cert")}
    return [
        f"{folder / (stem + '.cert')} and {stem}.key form a client pair {tool} offers "
        "(every .cert/.key pair, in file-name order); if it is Harbor's server pair from the "
        "guide's layout, remove it"
        + (", or mutual TLS fails for this host" if context.client_bundle is not None else "")
        for stem in sorted(stems - mine)
    ]


def _insecure_registry_warnings(context: InstallContext) -> list[str]:
    text = read_host_text(context, DAEMON_JSON)
    try:
        host_ip = ipaddress.ip_address(context.host)
    except ValueError:
        host_ip = None
    warnings: list[str] = []
    if host_ip is not None and host_ip.is_loopback:
        warnings.append(
            f"dockerd always treats loopback registries such as {context.registry} as insecure "
            "and then skips certs.d; clients should use a name that resolves elsewhere"
        )
    if text is None:
        return warnings
    try:
        config = json.loads(text)
    except ValueError as exc:
        warnings.append(f"{DAEMON_JSON} is not valid JSON ({exc}); insecure-registries not checked")
        return warnings
    entries = config.get("insecure-registries", []) if isinstance(config, dict) else []
    if not isinstance(entries, list):
        warnings.append(f"{DAEMON_JSON}: insecure-registries is not a list; not checked")
        return warnings
    names = {context.host.lower(), context.registry.lower(), f"{context.host}:{context.port}"}
    for entry in entries:
        if not isinstance(entry, str):
            continue
        value = entry.strip().lower().removeprefix("http://").removeprefix("https://").rstrip("/")
        hit = value in names
        if not hit and host_ip is not None and "/" in value:
            try:
                hit = host_ip in ipaddress.ip_network(value, strict=False)
            except ValueError:
                hit = False
        if hit:
            warnings.append(
                f"{DAEMON_JSON} lists '{entry}' in insecure-registries, so dockerd skips TLS "
                f"verification and certs.d for {context.registry}; remove it and reload dockerd"
            )
    return warnings
