"""Helpers the built-in targets share: reading host files, certs.d checks, client pairs."""

from __future__ import annotations

import stat
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from tlsprov.errors import InputError
from tlsprov.models import FileWrite, InstallContext, IssuedBundle

__all__ = [
    "BuiltinTarget",
    "certs_d_folder",
    "client_pair_writes",
    "file_mode",
    "read_host_text",
    "stray_file_warnings",
]


class BuiltinTarget:
    """Base of the built-in targets: the settings from ``[targets.NAME]`` arrive here.

    Attributes:
        options: the target's settings, checked by the host against its declared options.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})


def read_host_text(context: InstallContext, path: PurePosixPath) -> str | None:
    """Return the text of host file ``path`` (joined to the root), or None when it is missing.

    Raises:
        InputError: the file exists but cannot be read or is not UTF-8 text.
    """
    real = context.host_path(path)
    try:
        return real.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        blocking = next(
            (p for p in reversed(path.parents) if context.host_path(p).is_file()), path.parent
        )
        raise InputError(
            f"{blocking} is a file, not a folder",
            hint=f"move it out of the way (tlsprov reads and writes {path} inside it)",
        ) from None
    except IsADirectoryError:
        raise InputError(
            f"{path} is a folder, not a file", hint=f"remove or rename {path}"
        ) from None
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text", hint=f"check {path}") from None
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}", hint="run as root or fix the file's permissions"
        ) from exc


def certs_d_folder(certs_d: PurePosixPath, context: InstallContext, *, tool: str) -> PurePosixPath:
    """``certs_d/<host[:port]>``, the per-registry folder ``tool`` looks up by exact name.

    Raises:
        InputError: the host is a wildcard, which no registry reference can name.
    """
    if context.host.startswith("*"):
        raise InputError(
            f"'{context.host}' is a wildcard, but {tool} looks up its certs.d folder by the "
            "exact registry name clients pull from",
            hint="pass --host with that name, e.g. registry.harbor.test (a wildcard "
            "certificate covers it)",
        )
    return certs_d / context.registry


def file_mode(context: InstallContext, path: PurePosixPath, default: int) -> int:
    """The permission bits of host file ``path``, or ``default`` when it does not exist."""
    try:
        return stat.S_IMODE(context.host_path(path).stat().st_mode)
    except OSError:
        return default


def client_pair_writes(
    bundle: IssuedBundle, folder: PurePosixPath, *, tool: str
) -> tuple[FileWrite, FileWrite]:
    """``client.cert`` and ``client.key`` for mutual TLS, from a clientAuth bundle.

    Raises:
        InputError: the bundle's leaf is not valid for TLS client authentication.
    """
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from tlsprov.pki.x509 import load_cert

    leaf = load_cert(bundle.leaf_pem, source="the client bundle")
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is None or ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise InputError(
            "the client bundle's certificate lacks the clientAuth extended key usage",
            hint="issue one with 'tlsprov issue NAME --client' and pass that folder",
        )
    return (
        FileWrite(
            path=folder / "client.cert",
            content=bundle.fullchain_pem,
            mode=0o644,
            dir_mode=0o700,
            description=f"{tool} client certificate for mutual TLS",
        ),
        FileWrite(
            path=folder / "client.key",
            content=bundle.private_key_pem,
            mode=0o600,
            secret=True,
            dir_mode=0o700,
            description=f"{tool} client key for mutual TLS",
        ),
    )


def stray_file_warnings(
    context: InstallContext, folder: PurePosixPath, planned: Iterable[str], *, tool: str
) -> list[str]:
    """Warn about files in a certs.d folder that break or are ignored by Docker's rules.

    ``planned`` names the files the plan will write there; they count as present.
    A ``.key`` without its ``.cert`` (or the reverse) makes the whole folder fail;
    ``.cer`` and ``.pem`` files are ignored.
    """
    real = context.host_path(folder)
    try:
        existing = {p.name for p in real.iterdir() if not p.is_dir()}
    except OSError:
        existing = set()
    names = existing | set(planned)
    stems_key = {n[: -len(".key")] for n in names if n.endswith(".key")}
    stems_cert = {n[: -len(".cert")] for n in names if n.endswith(".cert")}
    warnings: list[str] = []
    for stem in sorted(stems_key - stems_cert):
        warnings.append(
            f"{folder / (stem + '.key')} has no {stem}.cert beside it; {tool} then fails "
            f"for the whole folder (add {stem}.cert or move the key away)"
        )
    for stem in sorted(stems_cert - stems_key):
        warnings.append(
            f"{folder / (stem + '.cert')} has no {stem}.key beside it; {tool} then fails "
            f"for the whole folder (CA certificates must end in .crt)"
        )
    for name in sorted(existing):
        if name.endswith((".cer", ".pem")):
            warnings.append(
                f"{folder / name} is ignored by {tool} (only .crt, .cert and .key are read); "
                "rename a CA certificate to .crt"
            )
    return warnings
