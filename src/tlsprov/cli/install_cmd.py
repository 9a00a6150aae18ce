"""``tlsprov install``: put an issued bundle into Harbor, Docker's certs.d, the OS trust store...

Everything is validated and planned before the first write; ``--dry-run`` prints the plan
(files, modes, the harbor.yml diff, commands in order) and touches nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath
from typing import Any

from tlsprov.cli._numbers import seconds
from tlsprov.cli._output import Output

__all__ = ["add_parser", "run"]

DEFAULT_TARGETS = "harbor,docker"
CLIENT_TARGETS = "docker"


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port (1 to 65535)")
    return int(text)


def _abs_host_path(text: str) -> PurePosixPath:
    path = PurePosixPath(text)
    if not path.is_absolute() or ".." in path.parts:
        raise argparse.ArgumentTypeError(
            f"'{text}' must be an absolute path on the host without '..'"
        )
    return path


def add_parser(sub: Any) -> None:
    """Register the sub-command."""
    from tlsprov.cli import add_json
    from tlsprov.cli._plugin_opts import add_target_option_argument

    p: argparse.ArgumentParser = sub.add_parser(
        "install",
        help="install a bundle into Harbor, Docker, containerd, podman or the OS trust store",
        description="Validate the bundle, plan every target, back up what will be replaced, "
        "write atomically, run the commands (prepare, compose, ...), and roll back on failure.",
    )
    p.add_argument(
        "--bundle",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder written by 'tlsprov issue' (H.key, H.crt, ca.crt)",
    )
    p.add_argument("--host", required=True, metavar="H", help="the registry name clients use")
    p.add_argument("--port", type=_port, default=443, metavar="P", help="HTTPS port (443)")
    p.add_argument(
        "--alt-name",
        action="append",
        default=[],
        metavar="NAME",
        help="another name the certificate must cover (repeatable)",
    )
    p.add_argument(
        "--targets",
        metavar="LIST",
        help=f"comma-separated targets ({DEFAULT_TARGETS}; {CLIENT_TARGETS} with --client-only)",
    )
    p.add_argument(
        "--harbor-dir",
        type=_abs_host_path,
        default=PurePosixPath("/opt/harbor"),
        metavar="DIR",
        help="Harbor's install folder (/opt/harbor)",
    )
    p.add_argument(
        "--data-volume",
        type=_abs_host_path,
        metavar="DIR",
        help="Harbor's data volume (default: read from harbor.yml)",
    )
    p.add_argument(
        "--client-only",
        action="store_true",
        help="this host only pulls from the registry: install the CA (and a client "
        "certificate) only",
    )
    p.add_argument(
        "--client-bundle",
        type=Path,
        metavar="DIR",
        help="folder from 'tlsprov issue NAME --client' for mutual TLS",
    )
    p.add_argument("--restart-docker", action="store_true", help="restart Docker afterwards")
    p.add_argument("--root", type=Path, default=Path("/"), metavar="DIR", help="root (/)")
    p.add_argument(
        "--state-dir", type=Path, metavar="DIR", help="backups and lock (ROOT/var/lib/tlsprov)"
    )
    p.add_argument(
        "--lock-timeout",
        type=seconds(zero=True),
        default=0.0,
        metavar="S",
        help="wait this long for another run's lock",
    )
    p.add_argument(
        "--command-timeout",
        type=_positive_seconds,
        metavar="S",
        help="kill any command that runs longer (default: per step, 300-900 s)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    add_target_option_argument(p)
    add_json(p)


def _positive_seconds(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive number of seconds")
    return value


def run(args: argparse.Namespace, out: Output) -> int:
    """Plan, then apply (or print the plan for --dry-run)."""
    from tlsprov.cli._plugin_opts import target_options
    from tlsprov.errors import InputError
    from tlsprov.install.engine import apply_install, plan_install
    from tlsprov.install.render import plan_to_json
    from tlsprov.install.rollback import recover_interrupted
    from tlsprov.models import InstallContext
    from tlsprov.pki.bundleio import read_bundle
    from tlsprov.pki.x509 import parse_identity, port_suffix
    from tlsprov.plugins.registry import default_registry
    from tlsprov.runner import CommandRunner

    split = port_suffix(args.host)
    if split is not None:
        raise InputError(
            f"--host '{args.host}' includes a port",
            hint=f"pass --host {split[0]} --port {split[1]}",
        )
    host = str(parse_identity(args.host))
    if args.client_bundle is not None and not args.client_only:
        out.warn("--client-bundle is meant for client hosts; installing it anyway")
    default = CLIENT_TARGETS if args.client_only else DEFAULT_TARGETS
    given = default if args.targets is None else args.targets  # '' is empty, not the default
    targets = [t.strip() for t in given.split(",") if t.strip()]
    if not targets:
        raise InputError("--targets is empty", hint=f"pass e.g. --targets {DEFAULT_TARGETS}")
    if not args.root.is_dir():
        raise InputError(f"the root {args.root} is not a folder", hint="pass an existing --root")
    bundle = read_bundle(args.bundle)
    client = read_bundle(args.client_bundle) if args.client_bundle is not None else None
    runner = CommandRunner(timeout=args.command_timeout)
    context = InstallContext(
        root=args.root.resolve(),
        host=host,
        port=args.port,
        alt_names=tuple(args.alt_name),
        harbor_dir=args.harbor_dir,
        data_volume=args.data_volume,
        client_only=args.client_only,
        client_bundle=client,
        restart_docker=args.restart_docker,
        runner=runner,
    )
    if not args.dry_run:  # finish an install that was killed half-way before planning anew
        recovered = recover_interrupted(
            context.root, args.state_dir, runner=runner, lock_timeout=args.lock_timeout
        )
        if recovered is not None:
            for line in (*recovered.notes, *recovered.warnings):
                out.warn(line)
    install_plan = plan_install(
        bundle,
        context,
        targets,
        registry=default_registry(),
        target_options=target_options(args),
        options_source="--target-option",
    )
    result = apply_install(
        install_plan,
        state_dir=args.state_dir,
        dry_run=args.dry_run,
        runner=runner,
        lock_timeout=args.lock_timeout,
    )
    for warning in result.warnings:
        out.warn(warning)
    out.result({"plan": plan_to_json(install_plan), "result": result.to_json()}, result.lines())
    return 0
