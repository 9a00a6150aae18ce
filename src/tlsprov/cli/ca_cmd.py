"""``tlsprov ca init``: create the private CA a provider keeps (the selfsigned provider's CA).

This module also holds the CA options ``issue`` shares: ``--ca-dir``, the three passphrase
options, ``--key-type`` and ``--days`` parsing.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tlsprov.cli._numbers import MAX_DAYS
from tlsprov.cli._output import Output

__all__ = [
    "DEFAULT_PROVIDER",
    "MAX_DAYS",
    "add_ca_arguments",
    "add_parser",
    "ca_options",
    "days_arg",
    "default_ca_dir",
    "run",
]

DEFAULT_PROVIDER = "selfsigned"


def default_ca_dir(environ: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The default CA folder.

    ``$TLSPROV_CA_DIR``, else ``$XDG_DATA_HOME/tlsprov/ca``, else ``~/.local/share/tlsprov/ca``.

    Args:
        environ: the environment to read (default: ``os.environ``).
    """
    env = os.environ if environ is None else environ
    if env.get("TLSPROV_CA_DIR"):
        return Path(env["TLSPROV_CA_DIR"]).expanduser()
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "tlsprov" / "ca"


def days_arg(text: str) -> int:
    """argparse type for ``--days``: a whole number from 1 to :data:`MAX_DAYS`."""
    try:
        days = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of days") from None
    if days < 1:
        raise argparse.ArgumentTypeError(f"validity must be at least 1 day, got {days}")
    if days > MAX_DAYS:
        raise argparse.ArgumentTypeError(f"validity must be at most {MAX_DAYS} days, got {days}")
    return days


def add_ca_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--provider``, ``--ca-dir`` and the passphrase options."""
    p.add_argument(
        "--provider",
        default=None,
        metavar="NAME",
        help=f"provider to use (default: {DEFAULT_PROVIDER})",
    )
    p.add_argument(
        "--ca-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="CA folder (default: $TLSPROV_CA_DIR or ~/.local/share/tlsprov/ca)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--ca-passphrase",
        metavar="P",
        help="passphrase of the CA key (visible in the process list; prefer -env or -file)",
    )
    group.add_argument(
        "--ca-passphrase-env", metavar="VAR", help="read the CA key passphrase from $VAR"
    )
    group.add_argument(
        "--ca-passphrase-file",
        metavar="FILE",
        help="read the CA key passphrase from the first line of FILE",
    )


def ca_options(args: argparse.Namespace, provider: str) -> dict[str, Any]:
    """The provider options for the CA flags.

    For the selfsigned provider ``ca_dir`` always gets a value (the default folder when not
    typed). Other providers get only what the user typed, so they can reject it themselves.
    """
    options: dict[str, Any] = {}
    if args.ca_dir is not None:
        options["ca_dir"] = str(args.ca_dir)
    elif provider == DEFAULT_PROVIDER:
        options["ca_dir"] = str(default_ca_dir())
    if args.ca_passphrase is not None:
        options["ca_passphrase"] = args.ca_passphrase
    elif args.ca_passphrase_env is not None:
        options["ca_passphrase"] = {"env": args.ca_passphrase_env}
    elif args.ca_passphrase_file is not None:
        options["ca_passphrase"] = {"file": args.ca_passphrase_file}
    return options


def add_parser(sub: Any) -> None:
    """Register ``ca`` and its ``init`` action."""
    from tlsprov.cli import add_json
    from tlsprov.cli._plugin_opts import add_option_argument

    ca: argparse.ArgumentParser = sub.add_parser("ca", help="manage the private CA")
    actions = ca.add_subparsers(dest="ca_command", metavar="ACTION", required=True)
    p: argparse.ArgumentParser = actions.add_parser(
        "init",
        help="create the CA (ca.key, ca.crt) in the CA folder",
        description="Create a private CA: RSA-4096 and 10 years unless told otherwise.",
    )
    add_ca_arguments(p)
    p.add_argument(
        "--subject",
        metavar="S",
        help="CA subject in openssl -subj form, e.g. '/C=DE/O=Example/CN=Example Root CA'",
    )
    p.add_argument("--key-type", metavar="T", help="rsa2048|rsa3072|rsa4096|ec256|ec384|ed25519")
    p.add_argument("--days", type=days_arg, metavar="N", help="CA validity in days")
    p.add_argument("--force", action="store_true", help="replace an existing CA")
    add_option_argument(p)
    add_json(p)
    from tlsprov.cli.ca_rotate import add_rotate_parser

    add_rotate_parser(actions, add_ca_arguments=add_ca_arguments, days_arg=days_arg)


def run(args: argparse.Namespace, out: Output) -> int:
    """Create the CA and print where it is, its subject and fingerprint."""
    if args.ca_command == "rotate":
        from tlsprov.cli.ca_rotate import run_rotate

        chosen = args.provider or DEFAULT_PROVIDER
        return run_rotate(args, out, provider=chosen, options=ca_options(args, chosen))
    from tlsprov.errors import NotSupported, PluginError
    from tlsprov.models import KeyType
    from tlsprov.plugins.interfaces import CAInfo
    from tlsprov.plugins.registry import default_registry

    name = args.provider or DEFAULT_PROVIDER
    options = ca_options(args, name)
    if args.subject is not None:
        options["subject"] = args.subject
    if args.key_type is not None:
        options["key_type"] = KeyType.parse(args.key_type).value
    if args.days is not None:
        options["days"] = args.days
    options.update(dict(args.plugin_options))
    provider = default_registry().get_provider(name, options)
    manager = provider.ca_manager
    if manager is None:
        raise NotSupported(
            f"provider '{name}' does not keep a CA of its own",
            hint=f"use --provider {DEFAULT_PROVIDER} to create a private CA",
        )
    info = manager.init_ca(force=args.force)
    if not isinstance(info, CAInfo):
        raise PluginError(
            f"provider '{name}' ({provider.source}) returned {type(info).__name__} from "
            "init_ca, not a CAInfo",
            hint=f"tell the authors of {provider.source}",
        )
    lines = [
        f"created CA in {info.ca_crt.parent}",
        f"  key:         {info.ca_key}",
        f"  certificate: {info.ca_crt}",
        f"  subject:     {info.subject}",
        f"  sha256:      {info.fingerprint_sha256}",
        f"  not after:   {info.not_after.isoformat()}",
        "clients must trust the certificate (tlsprov install puts it where they look)",
    ]
    out.result({"command": "ca init", "provider": name, "ca": info.to_json()}, lines)
    return 0
