"""The ``containerd`` target: ``/etc/containerd/certs.d/<host:port>/hosts.toml`` and ``ca.crt``.

With a client bundle it also writes ``client.cert``/``client.key`` and the hosts.toml line
``client = [["client.cert", "client.key"]]``; paths are relative to the host folder, which is how
containerd (and ``ctr --hosts-dir``) resolves them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import ConfigError, InputError
from tlsprov.install.targets._common import (
    BuiltinTarget,
    certs_d_folder,
    client_pair_writes,
    file_mode,
    read_host_text,
)
from tlsprov.models import FileWrite, InstallContext, IssuedBundle, Plan

__all__ = ["ContainerdTarget"]

CERTS_D = PurePosixPath("/etc/containerd/certs.d")
CONFIG_TOML = PurePosixPath("/etc/containerd/config.toml")
_CA = "ca.crt"
_CLIENT = ("client.cert", "client.key")
_CLIENT_LINE = f'client = [["{_CLIENT[0]}", "{_CLIENT[1]}"]]'
_CAPS = 'capabilities = ["pull", "resolve", "push"]'
_CRI_V2 = "io.containerd.cri.v1.images"
_CRI_V1 = "io.containerd.grpc.v1.cri"
_HEADER = re.compile(r"""^\s*\[\s*host\s*\.\s*(?:"([^"]*)"|'([^']*)')\s*\]\s*(?:#.*)?$""")


class ContainerdTarget(BuiltinTarget):
    """containerd's per-registry hosts folder (CRI, nerdctl, and ``ctr --hosts-dir``)."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """``options``: the ``[targets.containerd]`` table, which has no keys yet.

        Raises:
            ConfigError: any option is given.
        """
        if options:
            raise ConfigError(
                f"unknown option {sorted(options)[0]!r} for the containerd target",
                hint="[targets.containerd] takes no options; remove the table",
            )
        super().__init__(options)

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` (and a client pair) and a ``hosts.toml`` that points at them.

        An existing hosts.toml is edited, never replaced.

        Raises:
            InputError: an existing hosts.toml is not valid TOML, or the client bundle is not a
                clientAuth certificate.
        """
        folder = certs_d_folder(CERTS_D, context, tool="containerd")
        hosts_path = folder / "hosts.toml"
        url = f"https://{context.registry}"
        client = context.client_bundle is not None
        warnings: list[str] = []
        writes = [
            FileWrite(
                path=folder / _CA,
                content=bundle.ca_pem,
                mode=0o644,
                dir_mode=0o700 if client else 0o755,
                description="the CA containerd trusts for this registry",
            )
        ]
        if context.client_bundle is not None:
            writes.extend(client_pair_writes(context.client_bundle, folder, tool="containerd"))
        existing = read_host_text(context, hosts_path)
        if existing is None:
            text: str | None = _new_hosts_toml(url, client=client)
        else:
            text, problem = _edit_hosts_toml(existing, url, hosts_path, client=client)
            if problem:
                warnings.append(problem)
        if text is not None and text != existing:
            writes.append(
                FileWrite(
                    path=hosts_path,
                    content=text.encode(),
                    mode=file_mode(context, hosts_path, 0o644),
                    description="containerd's host configuration pointing at "
                    + ("ca.crt and the client pair" if client else "ca.crt"),
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


def _table_lines(client: bool) -> list[str]:
    lines = [f"  {_CAPS}\n", f'  ca = "{_CA}"\n']
    return [*lines, f"  {_CLIENT_LINE}\n"] if client else lines


def _new_hosts_toml(url: str, *, client: bool) -> str:
    return f'server = "{url}"\n\n[host."{url}"]\n' + "".join(_table_lines(client))


def _refs_ours(ca: Any) -> bool:
    values = ca if isinstance(ca, list) else [ca]
    return any(isinstance(v, str) and PurePosixPath(v).name == _CA for v in values)


def _refs_client(value: Any) -> bool:
    """True when a ``client`` setting holds the pair ``["client.cert", "client.key"]``."""
    entries = value if isinstance(value, list) else [value]
    return any(
        isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(v, str) for v in entry)
        and tuple(PurePosixPath(v).name for v in entry) == _CLIENT
        for entry in entries
    )


def _complete(table: Any, client: bool) -> bool:
    if not isinstance(table, dict) or not _refs_ours(table.get("ca")):
        return False
    return not client or _refs_client(table.get("client"))


def _edit_hosts_toml(
    text: str, url: str, path: PurePosixPath, *, client: bool
) -> tuple[str | None, str | None]:
    """Return the edited text (None: leave the file alone) and a warning, if any."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"{path} is not valid TOML ({exc})", hint=f"fix or move {path} and run again"
        ) from None
    hosts = data.get("host", {})
    table = hosts.get(url) if isinstance(hosts, dict) else None
    if _complete(table, client):
        return text, None
    wanted = f'ca = "{_CA}"' + (f" and {_CLIENT_LINE}" if client else "")
    refuse = f"{path} configures {url} in a way tlsprov does not edit; add {wanted} yourself"
    lines = text.splitlines(keepends=True)
    if table is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + f'\n[host."{url}"]\n' + "".join(_table_lines(client))
    else:
        header = next(
            (i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and url in m.groups()),
            None,
        )
        if header is None or not isinstance(table, dict):
            return None, refuse
        add: list[str] = []
        if not _refs_ours(table.get("ca")):
            if "ca" in table:
                return None, refuse
            add.append(f'  ca = "{_CA}"\n')
        if client and not _refs_client(table.get("client")):
            if "client" in table:
                return None, refuse
            add.append(f"  {_CLIENT_LINE}\n")
        lines[header + 1 : header + 1] = add
        new = "".join(lines)
    try:
        check = tomllib.loads(new)["host"][url]
    except (tomllib.TOMLDecodeError, KeyError, TypeError):
        check = None
    if not _complete(check, client):
        return None, f"{path} could not be edited safely; add {wanted} for {url} yourself"
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
