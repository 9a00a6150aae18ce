"""``tlsprov issue HOST``: issue a certificate and write H.key, H.crt, H.cert and ca.crt.

Everything is validated before anything is written: names, key type, validity, the output
folder, the CA (by the provider), and the issued certificate (by :mod:`tlsprov.pki.lint`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._plugin_opts import add_option_argument
    from tlsprov.cli.acme_opts import add_acme_arguments
    from tlsprov.cli.ca_cmd import add_ca_arguments, days_arg

    p: argparse.ArgumentParser = sub.add_parser(
        "issue",
        help="issue a certificate for HOST and write HOST.key, HOST.crt, HOST.cert, ca.crt",
        description="Issue a TLS certificate. Every name and IP address becomes a SAN.",
    )
    p.add_argument("host", metavar="HOST", help="DNS name or IP address clients use")
    p.add_argument(
        "--alt-name",
        action="append",
        default=[],
        metavar="NAME_OR_IP",
        help="another DNS name or IP address (repeatable)",
    )
    add_ca_arguments(p)
    p.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="output folder (default: .)"
    )
    p.add_argument(
        "--client", action="store_true", help="a client certificate (clientAuth, for mTLS)"
    )
    p.add_argument("--key-type", metavar="T", help="rsa2048|rsa3072|rsa4096|ec256|ec384|ed25519")
    p.add_argument("--days", type=days_arg, metavar="N", help="validity in days")
    add_option_argument(p)
    p.add_argument("--force", action="store_true", help="replace a key already in the folder")
    add_acme_arguments(p)
    add_json(p)


def _check_out_dir(out_dir: Path, files: dict[str, Path], force: bool = False) -> None:
    """Refuse an output folder that cannot take the bundle, before anything is issued."""
    from tlsprov.errors import InputError
    from tlsprov.fsops import refuse_symlinks

    current = out_dir
    while not current.exists() and not current.is_symlink() and current.parent != current:
        current = current.parent
    if not current.is_dir():
        raise InputError(f"{current} exists and is not a folder", hint="choose another --out")
    try:  # a real probe: os.access says yes to root even on read-only or virtual file systems
        os.rmdir(tempfile.mkdtemp(prefix=".tlsprov-probe-", dir=current))
    except OSError as exc:
        raise InputError(
            f"cannot write to {current}: {exc.strerror or exc}", hint="choose another --out"
        ) from None
    for path in files.values():
        refuse_symlinks(path)
        if path.exists() and not path.is_file():
            raise InputError(f"{path} exists and is not a file", hint="move it away first")
    if files["key"].exists() and not force:
        raise InputError(
            f"{files['key']} already exists",
            hint="pass --force to replace it, or choose another --out",
        )


def run(args: argparse.Namespace, out: Output) -> int:
    """Issue, lint, write, and print what was written."""
    from tlsprov.cli.acme_opts import acme_options
    from tlsprov.cli.ca_cmd import DEFAULT_PROVIDER, ca_options
    from tlsprov.errors import InstallError
    from tlsprov.models import Usage
    from tlsprov.pki.bundleio import bundle_files, write_bundle
    from tlsprov.pki.lint import lint_certificate, raise_on_errors
    from tlsprov.pki.x509 import fingerprint, load_cert, load_certs, make_request
    from tlsprov.plugins.registry import default_registry

    usage = Usage.CLIENT if args.client else Usage.SERVER
    request = make_request(
        [args.host, *args.alt_name],
        usage=usage,
        key_type=args.key_type,
        validity_days=args.days,
    )
    out_dir: Path = args.out if args.out is not None else Path.cwd()
    files = bundle_files(out_dir, request.primary_name)
    _check_out_dir(out_dir, files, args.force)

    name = args.provider or DEFAULT_PROVIDER
    options = {**ca_options(args, name), **acme_options(args), **dict(args.plugin_options)}
    provider = default_registry().get_provider(name, options)
    bundle = provider.issue(request)

    leaf = load_cert(bundle.leaf_pem, source=f"the certificate from provider '{name}'")
    issuer_pem = bundle.chain_pem[0] if bundle.chain_pem else bundle.ca_pem
    issuer = load_certs(issuer_pem, source=f"the CA certificate from provider '{name}'")[0]
    findings = []
    for identity in request.identities:
        for finding in lint_certificate(leaf, host=identity, ca=issuer, usage=usage):
            if finding not in findings:
                findings.append(finding)
    raise_on_errors(findings, what="issued certificate")

    try:
        written = write_bundle(out_dir, request.primary_name, bundle)
    except OSError as exc:
        raise InstallError(
            f"could not write the bundle to {out_dir}: {exc.strerror or exc}",
            hint="fix the folder or choose another --out, then run again",
        ) from exc
    ca_created = bool(getattr(provider.impl, "ca_created", False))
    not_after = leaf.not_valid_after_utc.isoformat()
    sha256 = fingerprint(leaf, "sha256")
    for finding in findings:  # the bundle check's warnings were logged by provider.issue
        if not any(finding.message in w for w in provider.last_warnings):
            out.warn(f"{finding.message} [{finding.code}]")
    lines = []
    if ca_created:
        lines.append(f"created a new CA in {ca_options(args, name).get('ca_dir', '?')}")
    ca_source = getattr(provider.impl, "ca_source", None)
    if isinstance(ca_source, str) and ca_source.startswith("root_ca"):
        lines.append(f"ca.crt is the root you gave ({ca_source.removeprefix('root_ca ')})")
    elif isinstance(ca_source, str) and ca_source:
        lines.append(
            "ca.crt is the last certificate of the chain the CA served "
            "(pass --root-ca FILE to use the root instead)"
        )
    lines += [
        f"issued a {usage.value} certificate for {', '.join(request.identities)}",
        f"  not after: {not_after}",
        f"  sha256:    {sha256}",
        *(f"  wrote {path}" for path in written.values()),
    ]
    out.result(
        {
            "command": "issue",
            "provider": name,
            "usage": usage.value,
            "names": list(request.identities),
            "dns_names": list(request.dns_names),
            "ip_addresses": [str(ip) for ip in request.ip_addresses],
            "files": {kind: str(path) for kind, path in written.items()},
            "not_after": not_after,
            "fingerprint_sha256": sha256,
            "ca_created": ca_created,
            "ca_source": ca_source if isinstance(ca_source, str) else None,
            "warnings": [f.as_dict() for f in findings],
            "bundle_warnings": list(provider.last_warnings),
        },
        lines,
    )
    return 0
