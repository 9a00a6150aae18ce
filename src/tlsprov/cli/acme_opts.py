"""The ACME options of ``tlsprov issue`` (``--provider letsencrypt``), as an argument group.

``add_acme_arguments`` registers the flags; ``acme_options`` turns the ones the user typed into
the provider's options mapping (the same keys as the ``[provider.letsencrypt]`` config table).
"""

from __future__ import annotations

import argparse
from typing import Any

from tlsprov.cli._numbers import port, seconds

__all__ = ["ACME_FLAGS", "acme_options", "add_acme_arguments"]

#: (flag, option key, argparse keyword arguments); every dest is ``acme_<key>``.
ACME_FLAGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "--directory",
        "directory",
        {
            "metavar": "URL_OR_ALIAS",
            "help": "ACME directory: letsencrypt-staging, letsencrypt, or an https URL",
        },
    ),
    ("--ca-bundle", "ca_bundle", {"metavar": "FILE", "help": "trust a private ACME server"}),
    (
        "--agree-tos",
        "agree_tos",
        {"action": "store_true", "default": None, "help": "agree to the CA's terms of service"},
    ),
    ("--email", "email", {"metavar": "E", "help": "contact e-mail for the account (optional)"}),
    (
        "--account-dir",
        "account_dir",
        {"metavar": "DIR", "help": "where the ACME account key and registration are kept"},
    ),
    ("--eab-kid", "eab_kid", {"metavar": "K", "help": "external account binding key id"}),
    (
        "--eab-hmac-key",
        "eab_hmac_key",
        {"metavar": "H", "help": "external account binding HMAC key (base64url)"},
    ),
    ("--eab-alg", "eab_alg", {"choices": ("HS256", "HS384", "HS512"), "help": "EAB MAC"}),
    (
        "--account-key-type",
        "account_key_type",
        {"metavar": "T", "help": "account key: ec256 (default), ec384, rsa2048..rsa4096"},
    ),
    ("--challenge", "challenge", {"choices": ("http-01", "dns-01"), "help": "default http-01"}),
    (
        "--http-address",
        "http_address",
        {"metavar": "ADDR", "help": "address the http-01 server binds (default: all)"},
    ),
    ("--http-port", "http_port", {"type": port, "metavar": "P", "help": "default 80"}),
    (
        "--webroot",
        "webroot",
        {"metavar": "DIR", "help": "serve http-01 by writing token files under DIR"},
    ),
    ("--pre-hook", "pre_hook", {"metavar": "CMD", "help": "run before the http-01 server"}),
    ("--post-hook", "post_hook", {"metavar": "CMD", "help": "run after the http-01 server"}),
    (
        "--dns",
        "dns",
        {
            "choices": ("hook", "rfc2136", "lexicon"),
            "help": "how dns-01 records are published (default: from the other dns flags)",
        },
    ),
    (
        "--lexicon-provider",
        "lexicon_provider",
        {
            "metavar": "NAME",
            "help": "dns-01 through this dns-lexicon provider (needs tlsprov[lexicon]); its "
            "options as -o lexicon.KEY=VALUE",
        },
    ),
    (
        "--dns-hook",
        "dns_hook",
        {"metavar": "PROG", "help": "dns-01: PROG add|remove RECORD VALUE"},
    ),
    (
        "--rfc2136-server",
        "rfc2136_server",
        {"metavar": "ADDR[:PORT]", "help": "dns-01 by dynamic update to this server"},
    ),
    ("--tsig-key", "tsig_key", {"metavar": "FILE", "help": "TSIG key file (BIND format)"}),
    (
        "--dns-propagation-timeout",
        "dns_propagation_timeout",
        {"type": seconds(zero=False), "metavar": "S", "help": "seconds to wait for the TXT record"},
    ),
    (
        "--dns-resolver",
        "dns_resolver",
        {"metavar": "ADDR[:PORT]", "help": "check TXT propagation on this server"},
    ),
    ("--profile", "profile", {"metavar": "NAME", "help": "ACME profile (e.g. shortlived)"}),
    (
        "--preferred-chain",
        "preferred_chain",
        {"metavar": "ISSUER_CN", "help": "pick the chain whose root has this name"},
    ),
    (
        "--root-ca",
        "root_ca",
        {"metavar": "FILE", "help": "ca.crt = this root (default: the top of the served chain)"},
    ),
    (
        "--acme-timeout",
        "timeout",
        {
            "type": seconds(zero=False),
            "metavar": "S",
            "help": "overall deadline in seconds (default 90)",
        },
    ),
)


def add_acme_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ACME flags to ``parser`` as one argument group."""
    group = parser.add_argument_group("ACME (--provider letsencrypt)")
    for flag, key, kwargs in ACME_FLAGS:
        group.add_argument(flag, dest=f"acme_{key}", **{"default": None, **kwargs})


def acme_options(args: argparse.Namespace) -> dict[str, Any]:
    """The provider options the user typed (flags left out are not in the result)."""
    options: dict[str, Any] = {}
    for _flag, key, _kwargs in ACME_FLAGS:
        value = getattr(args, f"acme_{key}", None)
        if value is not None:
            options[key] = value
    return options
