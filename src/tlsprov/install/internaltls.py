"""The plan that puts Harbor's internal TLS set in place, for the install engine to apply.

Two paths, as Harbor's containers see these files through file-level bind mounts that are
read once at start:

- **first switch** (harbor.yml must change): write the set into ``internal_tls.dir``, enable
  ``internal_tls`` in harbor.yml, then ``./prepare`` and ``docker compose down -v`` / ``up -d``;
- **renewal** (harbor.yml already points at the set): write the set into ``internal_tls.dir``
  and into ``<data_volume>/secret/tls`` (where the containers' mounts come from; owner 10000,
  ``harbor_db.*`` 999), the CA into ``common/config/shared/trust-certificates`` when it changed,
  then restart exactly the services that use them. prepare is not run: it would rotate Harbor's
  internal secrets and recreate every container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from tlsprov.errors import InputError
from tlsprov.install.targets._common import file_mode, read_host_text
from tlsprov.install.targets.harbor import prepare_commands
from tlsprov.models import CommandStep, FileWrite, InstallContext, Plan
from tlsprov.pki.internalset import CA_FILE

__all__ = ["TARGET", "enable_internal_tls", "plan_internal_tls", "restart_services"]

TARGET = "harbor-internal-tls"
HARBOR_UID = (10000, 10000)  # the user of Harbor's component images
POSTGRES_UID = (999, 999)
_LEAF_SERVICES = ("registry", "registryctl", "core", "portal", "jobservice", "proxy")
_TRUST_DIR = PurePosixPath("common/config/shared/trust-certificates")


def restart_services(*, trivy: bool, ca_changed: bool, exporter: bool) -> tuple[str, ...]:
    """The compose services that mount the set: those with a leaf, plus the CA's readers."""
    services = _LEAF_SERVICES + (("trivy-adapter",) if trivy else ())
    return services + (("exporter",) if ca_changed and exporter else ())


def enable_internal_tls(text: str, tls_dir: PurePosixPath, *, source: str) -> str:
    """harbor.yml with ``internal_tls: {enabled: true, dir: ...}``; comments and order kept.

    Raises:
        InputError: the text is not a YAML mapping.
    """
    import io

    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    from tlsprov.install.targets.harboryml import _yaml

    yaml = _yaml()
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        raise InputError(
            f"{source} is not valid YAML ({str(exc).splitlines()[0]})",
            hint=f"fix {source} (compare with Harbor's harbor.yml.tmpl)",
        ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{source} is not a YAML mapping of Harbor settings")
    block = doc.get("internal_tls")
    if not isinstance(block, dict):
        block = CommentedMap()
        doc["internal_tls"] = block
    if block.get("enabled") is True and str(block.get("dir")) == str(tls_dir):
        return text
    block["enabled"] = True
    block["dir"] = str(tls_dir)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _set_writes(
    files: Mapping[str, bytes], folder: PurePosixPath, *, owners: bool
) -> list[FileWrite]:
    writes = []
    for name, content in sorted(files.items()):
        secret = name.endswith(".key")
        owner = None
        if owners:
            owner = POSTGRES_UID if name.startswith("harbor_db.") else HARBOR_UID
        writes.append(
            FileWrite(
                path=folder / name,
                content=content,
                mode=0o600 if secret else 0o644,
                secret=secret,
                dir_mode=0o700,
                owner=owner,
                description="internal TLS " + ("key" if secret else "certificate"),
            )
        )
    return writes


def plan_internal_tls(
    files: Mapping[str, bytes],
    context: InstallContext,
    *,
    tls_dir: PurePosixPath,
    data_volume: PurePosixPath,
    trivy: bool,
    ca_changed: bool,
    exporter: bool = False,
    renewed: bool = True,
) -> Plan:
    """Plan the set's files, the harbor.yml edit if one is needed, and the commands.

    ``renewed=False`` (the set in ``tls_dir`` was kept) leaves the containers' copies alone.

    Raises:
        InputError: harbor.yml is missing or not YAML.
    """
    yml_path = context.harbor_dir / "harbor.yml"
    text = read_host_text(context, yml_path)
    if text is None:
        raise InputError(
            f"{yml_path} does not exist",
            hint="set [harbor] install_dir to Harbor's install folder (it holds harbor.yml)",
        )
    new_text = enable_internal_tls(text, tls_dir, source=str(yml_path))
    writes = _set_writes(files, tls_dir, owners=False)
    if new_text != text:
        _check_https_files(context, new_text, source=str(yml_path))
        writes.append(
            FileWrite(
                path=yml_path,
                content=new_text.encode(),
                mode=file_mode(context, yml_path, 0o644),
                description="harbor.yml: internal_tls enabled",
            )
        )
        return Plan(
            target=TARGET,
            writes=tuple(writes),
            commands=prepare_commands(context),
            notes=(
                "harbor.yml changes (internal_tls), so prepare renders the configuration; it "
                "also rotates Harbor's internal secrets, so every container is recreated",
            ),
        )
    if not renewed:
        return Plan(target=TARGET, writes=tuple(writes))
    writes += _set_writes(files, data_volume / "secret" / "tls", owners=True)
    ca_name = f"{CA_FILE}.crt"
    if ca_changed and ca_name in files:
        writes.append(
            FileWrite(
                path=context.harbor_dir / _TRUST_DIR / ca_name,
                content=files[ca_name],
                owner=HARBOR_UID,
                description="the internal CA, trusted by every component",
            )
        )
    services = restart_services(trivy=trivy, ca_changed=ca_changed, exporter=exporter)
    return Plan(
        target=TARGET,
        writes=tuple(writes),
        commands=(_restart(context.harbor_dir, services),),
        notes=(
            "renewal without prepare: the set is written where the containers' file mounts "
            f"come from, and only the services that read it restart ({', '.join(services)}); "
            "prepare would rotate Harbor's internal secrets and recreate every container",
        ),
    )


def _check_https_files(context: InstallContext, text: str, *, source: str) -> None:
    """prepare also copies the external certificate: refuse when it could not."""
    from tlsprov.install.targets.harbor import check_https_files
    from tlsprov.install.targets.harboryml import HarborYml, _yaml

    yaml = _yaml()
    config = HarborYml(source=source, doc=yaml.load(text), yaml=yaml)
    check_https_files(context, config, set(), source=source)


def _restart(harbor_dir: PurePosixPath, services: Sequence[str]) -> CommandStep:
    return CommandStep(
        argv=("docker", "compose", "restart", *services),
        cwd=harbor_dir,
        reason="the components load their certificates once, at start",
        probe_argv=("docker", "compose", "version"),
        fallback_argv=("docker-compose", "restart", *services),
    )
