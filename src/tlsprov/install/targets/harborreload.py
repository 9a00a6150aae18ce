"""Renewing Harbor's external certificate without prepare: files in place, then nginx reload.

Harbor's proxy container bind-mounts the *folder* ``<data_volume>/secret/cert`` at
``/etc/cert`` and nginx reads ``server.crt``/``server.key`` from it. prepare deletes and
recreates that folder (a running container then keeps the deleted one) and rotates Harbor's
internal secrets, so every container must be recreated after it. When harbor.yml need not
change, the new pair can instead be renamed into the existing folder (owner 10000:10000, the
image's user; 0600) and nginx told to reload: it loads and checks the files first and keeps
serving the old ones when they are bad, so no connection is refused.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath

from tlsprov.errors import InputError
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle

__all__ = [
    "HARBOR_UID",
    "RELOAD_MODES",
    "hitless_commands",
    "hitless_writes",
    "reload_mode",
    "secret_cert_dir",
]

HARBOR_UID = (10000, 10000)  # USER nginx of goharbor/nginx-photon
RELOAD_MODES = ("auto", "prepare")
_CONTAINER_CERT = "/etc/cert/server.crt"
_PROBE = ("docker", "compose", "version")


def secret_cert_dir(data_volume: PurePosixPath) -> PurePosixPath:
    """Where prepare puts the pair the proxy serves (mounted at ``/etc/cert``)."""
    return data_volume / "secret" / "cert"


def hitless_writes(bundle: IssuedBundle, data_volume: PurePosixPath) -> tuple[FileWrite, ...]:
    """``server.key`` and ``server.crt`` written in place, as Harbor's prepare marks them
    (0600, owner 10000:10000).

    Raises:
        InputError: the key does not belong to the certificate (nginx would refuse it).
    """
    from tlsprov.pki.x509 import key_matches_cert, load_cert, load_private_key

    leaf = load_cert(bundle.leaf_pem, source="the bundle's certificate")
    key = load_private_key(
        bundle.private_key_pem, source="the bundle's private key", skip_rsa_check=True
    )
    if not key_matches_cert(key, leaf):
        raise InputError(
            "the bundle's private key does not belong to its certificate",
            hint="use the key and certificate of one issuance",
        )
    folder = secret_cert_dir(data_volume)
    # As root (every Harbor host) the files belong to the image's user, as prepare leaves
    # them; an unprivileged sandbox (the demo, tests) cannot chown and keeps the owner.
    owner = HARBOR_UID if os.geteuid() == 0 else None
    return (
        FileWrite(
            path=folder / "server.key",
            content=bundle.private_key_pem,
            mode=0o600,
            secret=True,
            dir_mode=0o755,
            owner=owner,
            description="the key Harbor's proxy serves, replaced in place",
        ),
        FileWrite(
            path=folder / "server.crt",
            content=bundle.fullchain_pem,
            mode=0o600,
            dir_mode=0o755,
            owner=owner,
            description="the certificate and chain Harbor's proxy serves, replaced in place",
        ),
    )


def hitless_commands(
    context: InstallContext, data_volume: PurePosixPath
) -> tuple[CommandStep, ...]:
    """Check the proxy sees the new file (restart only it when not), then reload nginx."""
    harbor_dir = context.harbor_dir
    host_crt = secret_cert_dir(data_volume) / "server.crt"
    return (
        CommandStep(
            argv=("docker", "compose", "exec", "-T", "proxy", "sha256sum", _CONTAINER_CERT),
            cwd=harbor_dir,
            reason="check that the proxy container sees the new file through its /etc/cert mount",
            probe_argv=_PROBE,
            fallback_argv=("docker", "exec", "nginx", "sha256sum", _CONTAINER_CERT),
            check_sha256_of=host_crt,
        ),
        CommandStep(
            argv=("docker", "compose", "restart", "proxy"),
            cwd=harbor_dir,
            reason="the proxy container was started before the last prepare, which deleted and "
            f"recreated {secret_cert_dir(data_volume)}, so it still holds the deleted folder; "
            "restarting only the proxy service mounts the current one",
            probe_argv=_PROBE,
            fallback_argv=("docker", "restart", "nginx"),
            only_if_check_failed=True,
        ),
        CommandStep(
            argv=("docker", "compose", "exec", "-T", "proxy", "nginx", "-s", "reload"),
            cwd=harbor_dir,
            reason="nginx loads and checks the new files, then new connections get the new "
            "certificate while open ones finish (exit code 1, and nothing changes, when the "
            "files are bad)",
            probe_argv=_PROBE,
            fallback_argv=("docker", "exec", "nginx", "nginx", "-s", "reload"),
        ),
    )


def reload_mode(context: InstallContext) -> str:
    """``context.harbor_reload``, checked.

    Raises:
        InputError: not ``auto`` or ``prepare``.
    """
    mode = context.harbor_reload
    if mode not in RELOAD_MODES:
        raise InputError(
            f"unknown Harbor reload mode '{mode}'",
            hint='set [harbor] reload to "auto" or "prepare"',
        )
    return mode
