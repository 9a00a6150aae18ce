"""The ``tlsprov`` command line: ``main(argv=None) -> int``.

Each sub-command lives in its own module of this package with two functions:
``add_parser(subparsers)`` (cheap: no heavy imports) and ``run(args, out) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from typing import Any

from tlsprov.cli._output import Output
from tlsprov.errors import PluginFailure, TlsprovError

__all__ = ["main"]

# Sub-command modules (``internal_tls`` is the command ``internal-tls``), in --help order.
COMMANDS: tuple[str, ...] = (
    "provision",
    "renew",
    "status",
    "systemd",
    "ca",
    "issue",
    "inspect",
    "install",
    "trust",
    "verify",
    "rollback",
    "revoke",
    "internal_tls",
    "plugins",
    "demo",
)

#: Each command's one-line help, as its module registers it: ``tlsprov --help`` lists the
#: commands from here without importing a single command module (a test keeps them equal).
SUMMARIES: dict[str, str] = {
    "provision": "issue (or reuse) the certificate, install it everywhere, verify the registry",
    "renew": "renew the certificate when it is due, reinstall and verify (for a daily timer)",
    "status": "list managed certificates with days left and the last renewal's outcome",
    "systemd": "print (or --write) a systemd service and timer that renew twice a day",
    "ca": "manage the private CA",
    "issue": "issue a certificate for HOST and write HOST.key, HOST.crt, HOST.cert, ca.crt",
    "inspect": "describe the certificates in a PEM or DER file and lint them",
    "install": "install a bundle into Harbor, Docker, containerd, podman or the OS trust store",
    "trust": "make this machine trust a registry: ca.crt in certs.d and the OS store",
    "verify": "check a registry's TLS trusting only the given CA, and probe GET /v2/",
    "rollback": "restore the files replaced by the last install and re-run its commands",
    "revoke": "revoke a certificate at the ACME CA that issued it",
    "internal-tls": "issue, renew and check Harbor's internal TLS set ([harbor.internal_tls])",
    "plugins": "list providers and installer targets and where they come from",
    "demo": "provision a sandbox Harbor end to end and verify it over real TLS",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors are one line with exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgError(f"{self.prog}: {message}")


class _ArgError(Exception):
    pass


class _Version(argparse.Action):
    """``--version``, reading the installed version only when asked (keeps start-up light)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from tlsprov import __version__

        print(f"tlsprov {__version__}")
        parser.exit()


def command_name(module: str) -> str:
    """The command a module stem registers (``internal_tls`` -> ``internal-tls``)."""
    return module.replace("_", "-")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every sub-command in full, or only the command ``only`` in full.

    With ``only`` set (``""`` for none), the other commands are registered with their
    one-line help alone, so their modules are not imported: ``tlsprov --help`` and a command's
    start-up stay light.
    """
    parser = _Parser(
        prog="tlsprov",
        description="Real HTTPS for a Harbor registry: CA, certificates, installation, checks.",
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        command = command_name(name)
        if only is None or command == only:
            importlib.import_module(f"tlsprov.cli.{name}_cmd").add_parser(sub)
        else:
            sub.add_parser(command, help=SUMMARIES[command], add_help=False)
    return parser


def _command_in(args: Sequence[str]) -> str:
    """The sub-command named in ``args`` (the first word: the top level takes no values)."""
    word = next((a for a in args if not a.startswith("-")), "")
    return word if word in SUMMARIES else ""


def add_json(parser: argparse.ArgumentParser) -> None:
    """Add the ``--json`` flag every command has."""
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 operational failure, 2 usage or bad input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode="--json" in args_list)
    try:
        parser = build_parser(only=_command_in(args_list))
        args = parser.parse_args(args_list)
    except _ArgError as exc:
        out.fail(str(exc), code=2)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    out.json_mode = bool(getattr(args, "json", False))
    from tlsprov.cli._logging import setup_logging

    handler = setup_logging(verbose=args.verbose)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(f"tlsprov.cli.{args.command.replace('-', '_')}_cmd")
    from tlsprov.runner import on_sigterm

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return _run_guarded(module, args, out)
    finally:
        signal.signal(signal.SIGTERM, previous)
        import logging

        logging.getLogger("tlsprov").removeHandler(handler)
        handler.close()


def _run(module: object, args: argparse.Namespace, out: Output) -> int:
    try:
        code: int = module.run(args, out)  # type: ignore[attr-defined]
        return code
    finally:
        from tlsprov.cli._logging import clear_status

        clear_status()  # the result or error line must not share a line with a status line


def _quiet_broken_pipe() -> int:
    """stdout's reader went away (``tlsprov ... | head``): stop quietly, like other tools."""
    import os

    try:  # later flushes (at exit too) must not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe


def _run_guarded(module: object, args: argparse.Namespace, out: Output) -> int:
    try:
        code = _run(module, args, out)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except TlsprovError as exc:
        if args.verbose and isinstance(exc, PluginFailure) and exc.__cause__ is not None:
            import traceback

            traceback.print_exception(exc.__cause__, file=sys.stderr)
        out.fail(exc.one_line(), code=exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from tlsprov.runner import Terminated

        code = 143 if isinstance(exc, Terminated) else 130
        what = "stopped by SIGTERM" if code == 143 else "interrupted"
        notes = "; ".join(getattr(exc, "__notes__", ()))
        out.fail(f"{what}; {notes}" if notes else what, code=code)
        return code
    except Exception as exc:  # a bug, not a user error: say so in one line
        if args.verbose:
            raise
        out.fail(
            f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback and "
            "report it)",
            code=1,
        )
        return 1
