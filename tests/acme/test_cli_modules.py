"""The ACME CLI modules on their own: the issue flags and ``tlsprov revoke``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tlsprov
from tlsprov.cli import _Parser, revoke_cmd
from tlsprov.cli._output import Output
from tlsprov.cli.acme_opts import acme_options, add_acme_arguments
from tlsprov.pki.bundleio import write_bundle


def test_acme_flags_become_only_the_typed_options() -> None:
    parser = argparse.ArgumentParser()
    add_acme_arguments(parser)
    assert acme_options(parser.parse_args([])) == {}
    args = parser.parse_args(
        [
            "--directory",
            "letsencrypt-staging",
            "--agree-tos",
            "--challenge",
            "dns-01",
            "--dns-hook",
            "/bin/true",
            "--http-port",
            "8080",
            "--acme-timeout",
            "20",
        ]
    )
    opts = acme_options(args)
    assert opts == {
        "directory": "letsencrypt-staging",
        "agree_tos": True,
        "challenge": "dns-01",
        "dns_hook": "/bin/true",
        "http_port": 8080,
        "timeout": 20.0,
    }
    # every flag maps to an option the provider accepts
    tlsprov.get_provider("letsencrypt", **opts)


def _revoke_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tlsprov")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    revoke_cmd.add_parser(sub)
    return parser


def test_revoke_command(
    acme_options: Callable[..., dict[str, Any]], tmp_path: Path, capsys: Any
) -> None:
    opts = acme_options()
    bundle = tlsprov.get_provider("letsencrypt", **opts).issue(tlsprov.make_request(["cli.test"]))
    files = write_bundle(tmp_path / "out", "cli.test", bundle)
    argv = [
        "revoke",
        str(files["crt"]),
        "--reason",
        "cessationOfOperation",
        "--json",
        "--directory",
        opts["directory"],
        "--ca-bundle",
        opts["ca_bundle"],
        "--account-dir",
        opts["account_dir"],
    ]
    args = _revoke_parser().parse_args(argv)
    assert revoke_cmd.run(args, Output(json_mode=True)) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["reason"] == "cessationOfOperation"
    with pytest.raises(tlsprov.IssuanceError, match="alreadyRevoked"):
        revoke_cmd.run(args, Output(json_mode=True))
