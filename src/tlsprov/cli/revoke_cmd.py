"""``tlsprov revoke CERT``: revoke a certificate at the ACME CA that issued it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]

_REASONS = (
    "unspecified",
    "keyCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
)
# Only these flags make sense for revocation; they map to the provider options of the same name.
_KEYS = ("directory", "ca_bundle", "account_dir", "eab_kid", "eab_hmac_key", "timeout")


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._plugin_opts import add_option_argument
    from tlsprov.cli.acme_opts import ACME_FLAGS

    p: argparse.ArgumentParser = sub.add_parser(
        "revoke",
        help="revoke a certificate at the ACME CA that issued it",
        description="Revoke CERT with the stored ACME account, or with the certificate's own "
        "key (--key) when the account is lost.",
    )
    p.add_argument("cert", type=Path, metavar="CERT", help="the certificate (PEM; leaf first)")
    p.add_argument("--key", type=Path, default=None, metavar="KEYFILE", help="the cert's key")
    p.add_argument("--reason", default="unspecified", choices=_REASONS, help="default: unspecified")
    for flag, key, kwargs in ACME_FLAGS:
        if key in _KEYS:
            p.add_argument(flag, dest=f"acme_{key}", **{"default": None, **kwargs})
    add_option_argument(p)
    add_json(p)


def _read(path: Path, what: str) -> bytes:
    from tlsprov.errors import InputError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror}") from exc


def run(args: argparse.Namespace, out: Output) -> int:
    """Revoke and report the serial number."""
    from tlsprov.cli.acme_opts import acme_options
    from tlsprov.errors import NotSupported
    from tlsprov.pki.x509 import load_cert
    from tlsprov.plugins.registry import default_registry

    cert_pem = _read(args.cert, "certificate")
    cert = load_cert(cert_pem, source=str(args.cert))
    key_pem = _read(args.key, "key") if args.key is not None else None
    options = {**acme_options(args), **dict(args.plugin_options)}
    provider = default_registry().get_provider("letsencrypt", options)
    revoke = provider.capability("revoke")
    if revoke is None:
        raise NotSupported("the letsencrypt provider cannot revoke")
    revoke(cert_pem, args.reason, key_pem=key_pem)
    serial = f"{cert.serial_number:x}"
    out.result(
        {"command": "revoke", "serial": serial, "reason": args.reason, "cert": str(args.cert)},
        f"revoked {args.cert} (serial {serial}, reason {args.reason})",
    )
    return 0
