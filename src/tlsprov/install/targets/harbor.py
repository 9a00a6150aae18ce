"""The ``harbor`` target: Harbor's certificate files, harbor.yml, prepare and compose."""

from __future__ import annotations

import ipaddress
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tlsprov.errors import InputError
from tlsprov.install.targets._common import BuiltinTarget, file_mode, read_host_text
from tlsprov.install.targets.harborreload import (
    hitless_commands,
    hitless_writes,
    reload_mode,
    secret_cert_dir,
)
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.pki.bundleio import bundle_basename

if TYPE_CHECKING:
    from tlsprov.install.targets.harboryml import HarborYml

__all__ = ["HarborTarget", "check_https_files", "prepare_commands", "uses_trivy"]

_REFUSED_HOSTS = {  # what Harbor's prepare (or its docs) refuses as hostname
    "127.0.0.1": "clients elsewhere cannot reach it; prepare stops with '127.0.0.1 can not be "
    "the hostname'",
    "0.0.0.0": "clients cannot connect to it",  # noqa: S104 (a name check)
    "reg.mydomain.com": "it is harbor.yml.tmpl's placeholder; prepare stops with 'Please "
    "specify hostname'",
}
_WARNED_HOSTS = frozenset({"localhost"})
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
        plain_host = context.host.lower().rstrip(".")
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
        why_prepare = _why_prepare(context, config, text, cert_path, key_path)
        warnings = _warnings(config, plain_host)
        config.enable_https(
            hostname=context.host, port=context.port, certificate=cert_path, private_key=key_path
        )
        writes: tuple[FileWrite, ...] = (
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
        check_https_files(context, config, {w.path for w in writes}, source=str(yml_path))
        if why_prepare is None:
            return Plan(
                target="harbor",
                writes=writes + hitless_writes(bundle, yml_volume),
                commands=hitless_commands(context, yml_volume),
                warnings=warnings,
                notes=(
                    "harbor.yml already points at these files, so Harbor is not prepared again: "
                    f"the new pair is renamed into {secret_cert_dir(yml_volume)} in place and "
                    "only nginx reloads, without dropping a connection (prepare would rotate "
                    "Harbor's internal secrets and recreate every container)",
                ),
            )
        return Plan(
            target="harbor",
            writes=writes,
            commands=prepare_commands(context),
            warnings=warnings,
            notes=(
                f"prepare runs because {why_prepare}; it renders Harbor's configuration with new "
                "internal secrets, so every container is recreated with 'docker compose down -v' "
                "and 'up -d' (a short outage)",
            ),
        )


def _check_hostname(host: str) -> None:
    """Refuse what Harbor refuses or cannot serve: its template's placeholder, loopback and
    unspecified addresses (``127.0.0.1``, ``::1``, ``0.0.0.0``) and wildcards. ``localhost``
    only warns (see :func:`_warnings`)."""
    name = host.lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        ip = None
    if name in _REFUSED_HOSTS:
        why = _REFUSED_HOSTS[name]
    elif ip is not None and (ip.is_loopback or ip.is_unspecified):
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


def _why_prepare(
    context: InstallContext,
    config: HarborYml,
    text: str,
    cert_path: PurePosixPath,
    key_path: PurePosixPath,
) -> str | None:
    """Why this install needs Harbor's prepare; None when a reload of nginx is enough."""
    if reload_mode(context) == "prepare":
        return '[harbor] reload = "prepare" asks for Harbor\'s own procedure'
    mismatch = config.https_mismatch(
        text,
        hostname=context.host,
        port=context.port,
        certificate=cert_path,
        private_key=key_path,
    )
    if mismatch is not None:
        return f"harbor.yml must change ({mismatch})"
    served = secret_cert_dir(config.data_volume) / "server.crt"
    if not context.host_path(served).is_file():
        return f"{served} does not exist yet (prepare has not run with https)"
    return None


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


def check_https_files(
    context: InstallContext, config: HarborYml, planned: set[PurePosixPath], *, source: str
) -> None:
    """Refuse https.certificate/private_key values prepare could not copy.

    prepare reads them as ``/hostfs`` + the path after emptying ``common/config``, so a missing
    file, a relative path or an absolute symbolic link (resolved inside its container) ends
    in a traceback with Harbor half re-rendered.

    Raises:
        InputError: a path is relative, will not exist, or is an absolute symbolic link.
    """
    import os

    for key, value in config.https_files().items():
        path = PurePosixPath(value)
        where = f"{source}: https.{key} {value}"
        if not path.is_absolute():
            raise InputError(
                f"{where} is not an absolute host path",
                hint="prepare reads it under /hostfs; write the absolute path",
            )
        if path in planned:
            continue
        real = context.host_path(path)
        if real.is_symlink() and os.readlink(real).startswith("/"):
            raise InputError(
                f"{where} is an absolute symbolic link, which prepare resolves inside its "
                "container and cannot follow",
                hint="use a relative link or a real file",
            )
        if not real.is_file():
            raise InputError(
                f"{where} does not exist, so prepare would fail after emptying common/config",
                hint=f"put the file there or fix https.{key} in {source}",
            )


def _warnings(config: HarborYml, host: str) -> tuple[str, ...]:
    warnings: list[str] = []
    if host in _WARNED_HOSTS:
        warnings.append(
            f"hostname '{host}' reaches Harbor only from this machine; clients elsewhere "
            "need its DNS name or IP address (Harbor's docs rule localhost out)"
        )
    if config.data_volume_quoted:
        warnings.append(
            "harbor.yml quotes data_volume; Harbor's prepare wrapper reads it with grep/awk "
            "and passes the quotes on to docker, so tlsprov writes it unquoted"
        )
    if config.external_url:
        warnings.append(
            f"harbor.yml sets external_url = {config.external_url}: clients use that URL, so "
            "TLS may end on an outer proxy that needs this certificate too"
        )
    return tuple(warnings)
