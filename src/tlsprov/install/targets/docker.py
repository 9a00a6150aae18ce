"""The ``docker`` target: ``/etc/docker/certs.d/<host>[:port]/`` and daemon.json checks."""

from __future__ import annotations

import ipaddress
import json
from pathlib import PurePosixPath

from tlsprov.install.targets._common import (
    BuiltinTarget,
    certs_d_folder,
    client_pair_writes,
    read_host_text,
    stray_file_warnings,
)
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.pki.bundleio import bundle_basename

__all__ = ["DockerTarget"]

CERTS_D = PurePosixPath("/etc/docker/certs.d")
DAEMON_JSON = PurePosixPath("/etc/docker/daemon.json")


class DockerTarget(BuiltinTarget):
    """Docker Engine's per-registry trust folder, laid out the way Harbor's guide does it."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` (and the host pair or a client pair) in Docker's certs.d folder.

        Raises:
            InputError: the client bundle is not a clientAuth certificate.
        """
        folder = certs_d_folder(CERTS_D, context, tool="Docker")
        writes: list[FileWrite] = []
        if not context.client_only:
            stem = bundle_basename(context.host)
            writes.append(
                FileWrite(
                    path=folder / f"{stem}.cert",
                    content=bundle.fullchain_pem,
                    mode=0o644,
                    dir_mode=0o700,
                    description="Harbor's certificate and chain (the guide's Docker copy)",
                )
            )
            writes.append(
                FileWrite(
                    path=folder / f"{stem}.key",
                    content=bundle.private_key_pem,
                    mode=0o600,
                    secret=True,
                    dir_mode=0o700,
                    description="Harbor's private key (the guide's Docker copy)",
                )
            )
        writes.append(
            FileWrite(
                path=folder / "ca.crt",
                content=bundle.ca_pem,
                mode=0o644,
                dir_mode=0o700 if writes or context.client_bundle else 0o755,
                description="the CA Docker trusts for this registry",
            )
        )
        if context.client_bundle is not None:
            writes.extend(client_pair_writes(context.client_bundle, folder, tool="Docker"))

        warnings = stray_file_warnings(
            context, folder, (w.path.name for w in writes), tool="Docker"
        )
        warnings.extend(_insecure_registry_warnings(context))

        commands: list[CommandStep] = []
        notes: list[str] = []
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
