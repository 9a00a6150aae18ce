"""The ``harbor`` target: Harbor's certificate files, harbor.yml, prepare and compose."""

from __future__ import annotations

import ipaddress
import re

from tlsprov.errors import InputError
from tlsprov.install.targets._common import BuiltinTarget, file_mode, read_host_text
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.pki.bundleio import bundle_basename

__all__ = ["HarborTarget", "prepare_commands", "uses_trivy"]

_TRIVY = re.compile(r"^[ \t]+trivy-adapter:[ \t]*(?:#.*)?$", re.MULTILINE)


def uses_trivy(compose_text: str | None) -> bool:
    """True when Harbor's rendered docker-compose.yml runs the Trivy adapter service."""
    return bool(compose_text and _TRIVY.search(compose_text))


class HarborTarget(BuiltinTarget):
    """The Harbor host: ``<data_volume>/cert``, harbor.yml's https block, prepare and restart."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan the certificate files, the harbor.yml edit and the prepare/compose commands.

        Raises:
            InputError: client-only install, a hostname Harbor refuses, a missing or
                malformed harbor.yml, or an install folder without ``prepare``.
        """
        from tlsprov.install.targets.harboryml import HarborYml

        if context.client_only:
            raise InputError(
                "the harbor target runs on the Harbor host",
                hint="drop --client-only or the harbor target",
            )
        _check_hostname(context.host)
        for what, folder in (
            ("harbor_dir", context.harbor_dir),
            ("data_volume", context.data_volume),
        ):
            if folder is not None and ".." in folder.parts:
                raise InputError(
                    f"Harbor's {what} {folder} has a '..' part",
                    hint="give the folder as an absolute path without '..'",
                )
        harbor_dir = context.harbor_dir
        yml_path = harbor_dir / "harbor.yml"
        text = read_host_text(context, yml_path)
        if text is None:
            raise InputError(
                f"{yml_path} does not exist",
                hint=f"set {context.harbor_dir_setting} to Harbor's install folder, or copy "
                "harbor.yml.tmpl to harbor.yml there",
            )
        config = HarborYml.parse(text, source=str(yml_path))
        if not context.host_path(harbor_dir / "prepare").is_file():
            raise InputError(
                f"{harbor_dir} has no 'prepare' script, so it is not a Harbor install folder",
                hint=f"set {context.harbor_dir_setting} to the folder holding harbor.yml and "
                "prepare",
            )

        yml_volume = config.data_volume
        cert_dir = (context.data_volume or yml_volume) / "cert"
        stem = bundle_basename(context.host)
        cert_path = cert_dir / f"{stem}.crt"
        key_path = cert_dir / f"{stem}.key"
        config.enable_https(
            hostname=context.host, port=context.port, certificate=cert_path, private_key=key_path
        )
        writes = (
            FileWrite(
                path=cert_path,
                content=bundle.fullchain_pem,
                mode=0o644,
                dir_mode=0o700,
                description="Harbor's server certificate and chain",
            ),
            FileWrite(
                path=key_path,
                content=bundle.private_key_pem,
                mode=0o600,
                secret=True,
                dir_mode=0o700,
                description="Harbor's server private key",
            ),
            FileWrite(
                path=yml_volume / "ca_download" / "ca.crt",
                content=bundle.ca_pem,
                mode=0o644,
                description="the CA behind Harbor's 'Registry Certificate' download link",
            ),
            FileWrite(
                path=yml_path,
                content=config.dump().encode(),
                mode=file_mode(context, yml_path, 0o644),
                description="harbor.yml with hostname and the https block set",
            ),
        )
        return Plan(
            target="harbor",
            writes=writes,
            commands=prepare_commands(context),
            warnings=_warnings(config.external_url),
            notes=(
                "prepare renders Harbor's configuration with new internal secrets, so the whole "
                "stack is restarted with 'docker compose down -v' and 'up -d'",
            ),
        )


def _check_hostname(host: str) -> None:
    """Refuse a hostname Harbor cannot serve: loopback, unspecified or a wildcard."""
    name = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        ip = None
    if name == "localhost" or (ip is not None and (ip.is_loopback or ip.is_unspecified)):
        why = "a loopback or unspecified address: clients elsewhere cannot reach it"
    elif name.startswith("*"):
        why = "a wildcard: Harbor needs the one name clients connect to"
    else:
        return
    raise InputError(
        f"Harbor refuses '{host}' as its hostname ({why})",
        hint="use the DNS name or IP address clients use to reach Harbor (a wildcard "
        "certificate covers a name such as registry.harbor.test)",
    )


def prepare_commands(context: InstallContext) -> tuple[CommandStep, ...]:
    """``./prepare`` (``--with-trivy`` when Harbor runs Trivy), then compose down and up."""
    harbor_dir = context.harbor_dir
    compose = read_host_text(context, harbor_dir / "docker-compose.yml")
    prepare: tuple[str, ...] = ("./prepare",)
    if uses_trivy(compose):
        prepare += ("--with-trivy",)
    probe = ("docker", "compose", "version")
    return (
        CommandStep(
            argv=prepare,
            cwd=harbor_dir,
            reason="render Harbor's nginx and component configuration from harbor.yml",
        ),
        CommandStep(
            argv=("docker", "compose", "down", "-v"),
            cwd=harbor_dir,
            reason="stop Harbor so it restarts with the new configuration",
            probe_argv=probe,
            fallback_argv=("docker-compose", "down", "-v"),
        ),
        CommandStep(
            argv=("docker", "compose", "up", "-d"),
            cwd=harbor_dir,
            reason="start Harbor serving the new certificate",
            probe_argv=probe,
            fallback_argv=("docker-compose", "up", "-d"),
        ),
    )


def _warnings(external_url: str | None) -> tuple[str, ...]:
    if not external_url:
        return ()
    return (
        f"harbor.yml sets external_url = {external_url}: clients use that URL, so TLS may end "
        "on an outer proxy that needs this certificate too",
    )
