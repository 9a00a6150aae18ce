"""The ``tlsprov`` command line: ``main(argv=None) -> int``.

Each sub-command lives in its own module of this package with two functions:
``add_parser(subparsers)`` (cheap: no heavy imports) and ``run(args, out) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from collections.abc import Sequence

from tlsprov.cli._logging import clear_status, setup_logging
from tlsprov.cli._output import Output
from tlsprov.errors import TlsprovError
from tlsprov.runner import Terminated, on_sigterm

__all__ = ["main"]


# Sub-command modules, in --help order.
COMMANDS: tuple[str, ...] = (
    "provision",
    "renew",
    "status",
    "systemd",
    "ca",
    "issue",
    "inspect",
    "install",
    "verify",
    "rollback",
    "revoke",
    "plugins",
    "demo",
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors are one line with exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ArgError(f"{self.prog}: {message}")


class _ArgError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every sub-command registered)."""
    from tlsprov import __version__

    parser = _Parser(
        prog="tlsprov",
        description="Real HTTPS for a Harbor registry: CA, certificates, installation, checks.",
    )
    parser.add_argument("--version", action="version", version=f"tlsprov {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f"tlsprov.cli.{name}_cmd")
        module.add_parser(sub)
    return parser


def add_json(parser: argparse.ArgumentParser) -> None:
    """Add the ``--json`` flag every command has."""
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 operational failure, 2 usage or bad input)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    out = Output(json_mode="--json" in args_list)
    try:
        parser = build_parser()
        args = parser.parse_args(args_list)
    except _ArgError as exc:
        out.fail(str(exc), code=2)
        return 2
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    out.json_mode = bool(getattr(args, "json", False))
    handler = setup_logging(verbose=args.verbose)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(f"tlsprov.cli.{args.command}_cmd")
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return _run_guarded(module, args, out)
    finally:
        signal.signal(signal.SIGTERM, previous)
        logging.getLogger("tlsprov").removeHandler(handler)
        handler.close()


def _run(module: object, args: argparse.Namespace, out: Output) -> int:
    try:
        code: int = module.run(args, out)  # type: ignore[attr-defined]
        return code
    finally:
        clear_status()  # the result or error line must not share a line with a status line


def _run_guarded(module: object, args: argparse.Namespace, out: Output) -> int:
    try:
        return _run(module, args, out)
    except TlsprovError as exc:
        out.fail(exc.one_line(), code=exc.exit_code)
        return exc.exit_code
    except KeyboardInterrupt as exc:
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
