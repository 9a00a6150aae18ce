"""The ``containerd`` target: ``/etc/containerd/certs.d/<host:port>/hosts.toml`` and ``ca.crt``."""

from __future__ import annotations

import re
import tomllib
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import InputError
from tlsprov.install.targets._common import (
    BuiltinTarget,
    certs_d_folder,
    file_mode,
    read_host_text,
)
from tlsprov.models import FileWrite, InstallContext, IssuedBundle, Plan

__all__ = ["ContainerdTarget"]

CERTS_D = PurePosixPath("/etc/containerd/certs.d")
CONFIG_TOML = PurePosixPath("/etc/containerd/config.toml")
_CA = "ca.crt"
_CRI_V2 = "io.containerd.cri.v1.images"
_CRI_V1 = "io.containerd.grpc.v1.cri"
_HEADER = re.compile(r"""^\s*\[\s*host\s*\.\s*(?:"([^"]*)"|'([^']*)')\s*\]\s*(?:#.*)?$""")


class ContainerdTarget(BuiltinTarget):
    """containerd's per-registry hosts folder (CRI, nerdctl, and ``ctr --hosts-dir``)."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` and a ``hosts.toml`` that points at it, editing an existing one.

        Raises:
            InputError: an existing hosts.toml is not valid TOML.
        """
        folder = certs_d_folder(CERTS_D, context, tool="containerd")
        hosts_path = folder / "hosts.toml"
        url = f"https://{context.registry}"
        warnings: list[str] = []
        writes = [
            FileWrite(
                path=folder / _CA,
                content=bundle.ca_pem,
                mode=0o644,
                description="the CA containerd trusts for this registry",
            )
        ]
        existing = read_host_text(context, hosts_path)
        if existing is None:
            text: str | None = _new_hosts_toml(url)
        else:
            text, problem = _edit_hosts_toml(existing, url, hosts_path)
            if problem:
                warnings.append(problem)
        if text is not None and text != existing:
            writes.append(
                FileWrite(
                    path=hosts_path,
                    content=text.encode(),
                    mode=file_mode(context, hosts_path, 0o644),
                    description="containerd's host configuration pointing at ca.crt",
                )
            )
        warnings.extend(_config_path_warnings(context))
        return Plan(
            target="containerd",
            writes=tuple(writes),
            warnings=tuple(warnings),
            notes=(
                "no containerd restart needed for files under certs.d; 'ctr' needs "
                f"'--hosts-dir {CERTS_D}'",
            ),
        )


def _new_hosts_toml(url: str) -> str:
    return (
        f'server = "{url}"\n'
        "\n"
        f'[host."{url}"]\n'
        '  capabilities = ["pull", "resolve", "push"]\n'
        f'  ca = "{_CA}"\n'
    )


def _refs_ours(ca: Any) -> bool:
    values = ca if isinstance(ca, list) else [ca]
    return any(isinstance(v, str) and PurePosixPath(v).name == _CA for v in values)


def _edit_hosts_toml(text: str, url: str, path: PurePosixPath) -> tuple[str | None, str | None]:
    """Return the edited text (None: leave the file alone) and a warning, if any."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"{path} is not valid TOML ({exc})", hint=f"fix or move {path} and run again"
        ) from None
    hosts = data.get("host", {})
    table = hosts.get(url) if isinstance(hosts, dict) else None
    if table is not None and _refs_ours(table.get("ca") if isinstance(table, dict) else None):
        return text, None
    lines = text.splitlines(keepends=True)
    if table is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        addition = (
            f'\n[host."{url}"]\n  capabilities = ["pull", "resolve", "push"]\n  ca = "{_CA}"\n'
        )
        new = text + sep + addition
    else:
        header = next(
            (i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and url in m.groups()),
            None,
        )
        if header is None or "ca" in table:
            return None, (
                f"{path} configures {url} in a way tlsprov does not edit; add "
                f'"{_CA}" to its ca setting yourself'
            )
        lines.insert(header + 1, f'  ca = "{_CA}"\n')
        new = "".join(lines)
    try:
        check = tomllib.loads(new)["host"][url]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        check = None
    if not isinstance(check, dict) or not _refs_ours(check.get("ca")):
        return None, f'{path} could not be edited safely; add ca = "{_CA}" for {url} yourself'
    return new, None


def _config_path_warnings(context: InstallContext) -> list[str]:
    text = read_host_text(context, CONFIG_TOML)
    hint = f'config_path = "{CERTS_D}"'
    if text is None:
        return [
            f"{CONFIG_TOML} does not exist: containerd 2.x defaults read {CERTS_D}, but 1.x "
            f'does not; write a config with {hint} under [plugins."{_CRI_V1}".registry] '
            "(1.x) and restart containerd"
        ]
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [f"{CONFIG_TOML} is not valid TOML ({exc}); config_path not checked"]
    plugins = config.get("plugins", {})
    version = config.get("version", 2)
    section = _CRI_V2 if isinstance(version, int) and version >= 3 else _CRI_V1
    for name in (_CRI_V2, _CRI_V1):
        registry = plugins.get(name, {}).get("registry", {}) if isinstance(plugins, dict) else {}
        value = registry.get("config_path") if isinstance(registry, dict) else None
        if isinstance(value, str) and value:
            if str(CERTS_D) not in value.split(":"):
                return [
                    f"{CONFIG_TOML} sets config_path = {value!r}, which leaves out {CERTS_D}; "
                    "the CRI will not see these files"
                ]
            return []
    return [
        f"{CONFIG_TOML} does not set config_path, so the CRI ignores {CERTS_D}; add {hint} "
        f'under [plugins."{section}".registry] and restart containerd'
    ]
