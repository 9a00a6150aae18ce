"""``tlsprov ca rotate``: roll the private CA over in three steps, and its line in ``status``.

``rotate`` makes a new CA and puts both into every trust bundle (phase *distribute*);
``--switch`` makes the new CA sign; ``--retire`` leaves the new CA alone in ``ca.crt``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tlsprov.cli._output import Output
    from tlsprov.lifecycle.config import Config

__all__ = ["add_rotate_parser", "rollover_status", "run_rotate"]


def add_rotate_parser(
    actions: Any,
    *,
    add_ca_arguments: Callable[[argparse.ArgumentParser], None],
    days_arg: Callable[[str], int],
) -> None:
    """Register ``ca rotate`` under the ``ca`` action parser (with ``ca init``'s CA options)."""
    from tlsprov.cli import add_json

    p: argparse.ArgumentParser = actions.add_parser(
        "rotate",
        help="roll the CA over: distribute a new CA, --switch signing, --retire the old one",
        description="Without a flag: make a new CA beside the old one and put both into "
        "ca.crt (phase distribute; leaves are still signed by the old CA). --switch: the new "
        "CA signs, ca.crt still holds both. --retire: ca.crt holds the new CA alone; the old "
        "key is kept under retired/. Each step backs up what it replaces.",
    )
    add_ca_arguments(p)
    step = p.add_mutually_exclusive_group()
    step.add_argument("--switch", action="store_true", help="the new CA signs from now on")
    step.add_argument("--retire", action="store_true", help="drop the old CA from ca.crt")
    p.add_argument("--subject", metavar="S", help="the new CA's subject (default: old CN + tag)")
    p.add_argument("--key-type", metavar="T", help="the new CA's key type (default rsa4096)")
    p.add_argument("--days", type=days_arg, metavar="N", help="the new CA's validity in days")
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    add_json(p)


def run_rotate(
    args: argparse.Namespace, out: Output, *, provider: str, options: dict[str, Any]
) -> int:
    """Run one rollover step with ``provider`` and its CA ``options``."""
    from tlsprov.errors import NotSupported
    from tlsprov.models import KeyType
    from tlsprov.plugins.registry import default_registry
    from tlsprov.plugins.rotation import CARotation

    name = provider
    if args.subject is not None:
        options["subject"] = args.subject
    if args.key_type is not None:
        options["key_type"] = KeyType.parse(args.key_type).value
    if args.days is not None:
        options["days"] = args.days
    impl = default_registry().get_provider(name, options).impl
    if not isinstance(impl, CARotation):
        raise NotSupported(
            f"provider '{name}' cannot roll its CA over",
            hint="use --provider selfsigned",
        )
    step = "switch" if args.switch else "retire" if args.retire else "distribute"
    info = impl.rotate_ca(step, dry_run=args.dry_run)
    head = "dry run: nothing was changed" if args.dry_run else f"phase is now {info['phase']}"
    lines = [f"ca rotate ({step}): {head}", *(f"  {line}" for line in info["plan"])]
    if info.get("backup"):
        lines.append(f"  backup: {info['backup']}")
    lines.append(_ADVICE[step])
    out.result({"command": "ca rotate", "provider": name, "rotation": info}, lines)
    return 0


_ADVICE = {
    "distribute": "next: re-run provision (or install/trust) so every client gets both CAs, "
    "then 'tlsprov ca rotate --switch'",
    "switch": "next: re-run provision (it re-issues the server certificate from the new CA; "
    "or issue + install), then 'tlsprov ca rotate --retire' once no leaf of the old CA is "
    "left",
    "retire": "next: re-run provision (or install/trust) so clients drop the old CA",
}


def rollover_status(config: Config) -> dict[str, Any] | None:
    """The configured provider's CA rollover phase, when it has one."""
    from tlsprov.errors import TlsprovError
    from tlsprov.plugins.registry import default_registry
    from tlsprov.plugins.rotation import CARotation

    try:
        impl = default_registry().get_provider(config.provider_name, config.provider_options).impl
        if not isinstance(impl, CARotation):
            return None
        info = impl.ca_rotation()
        info["installed_sha256"] = _installed(config)
    except TlsprovError:  # status still lists the certificates
        return None
    info["installed_current"] = set(info["installed_sha256"]) == set(info["trusted_sha256"])
    return info


def _installed(config: Config) -> list[str]:
    """The CAs in the trust bundle the state says was installed last on this host."""
    from tlsprov.lifecycle.lineage import StateStore
    from tlsprov.pki.x509 import fingerprint, load_certs

    stored = StateStore(config.state_path).load(config.harbor.hostname)
    if stored is None:
        return []
    return [fingerprint(c) for c in load_certs(stored[0].ca_pem, source="the stored ca.crt")]
