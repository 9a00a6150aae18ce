"""The ``letsencrypt`` provider's options: parsed once into a frozen dataclass."""

from __future__ import annotations

import ipaddress
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tlsprov.errors import ConfigError, InputError
from tlsprov.lifecycle.config import resolve_secret
from tlsprov.models import KeyType
from tlsprov_letsencrypt._dnsopts import LEXICON_PREFIX, dns_kind, lexicon_options, require_lexicon

__all__ = ["ALIASES", "ALLOWED", "AcmeOptions", "default_state_dir"]

_SOURCE = "provider.letsencrypt"

#: Directory aliases; staging is never replaced by production or the other way round.
ALIASES = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}

ALLOWED = (
    "directory",
    "ca_bundle",
    "agree_tos",
    "email",
    "account_dir",
    "state_dir",
    "eab_kid",
    "eab_hmac_key",
    "eab_alg",
    "account_key_type",
    "challenge",
    "http_address",
    "http_port",
    "webroot",
    "pre_hook",
    "post_hook",
    "dns",
    "dns_hook",
    "lexicon_provider",
    "lexicon",
    "rfc2136_server",
    "tsig_key",
    "dns_propagation_timeout",
    "dns_resolver",
    "key_type",
    "profile",
    "preferred_chain",
    "root_ca",
    "timeout",
)

_CHALLENGES = ("http-01", "dns-01")

_EAB_ALGS = ("HS256", "HS384", "HS512")
_ACCOUNT_KEYS = (KeyType.EC256, KeyType.EC384, KeyType.RSA2048, KeyType.RSA3072, KeyType.RSA4096)


def _err(key: str, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, source=_SOURCE, key=key, hint=hint)


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/tlsprov``, else ``~/.local/share/tlsprov``."""
    env = os.environ if environ is None else environ
    data_home = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "tlsprov"


def _str(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise _err(key, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _path(options: Mapping[str, Any], key: str, *, must_exist: str | None = None) -> Path | None:
    text = _str(options, key)
    if text is None:
        return None
    path = Path(text).expanduser()
    if must_exist == "file" and not path.is_file():
        raise _err(key, f"{path} is not a readable file", hint="check the path")
    if must_exist == "dir" and not path.is_dir():
        raise _err(key, f"{path} is not a folder", hint="create it or check the path")
    return path


def _number(options: Mapping[str, Any], key: str, default: float, *, low: float) -> float:
    value = options.get(key, default)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _err(key, f"must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise _err(key, f"must be a number >= {low:g}, got {value!r}")
    return float(value)


def _key_type(options: Mapping[str, Any], key: str, allowed: tuple[KeyType, ...]) -> KeyType:
    raw = options.get(key, KeyType.EC256)
    try:
        kt = raw if isinstance(raw, KeyType) else KeyType.parse(str(raw))
    except InputError as exc:
        raise _err(key, exc.message) from exc
    if kt not in allowed:
        raise _err(
            key,
            f"{kt.value} keys are not accepted by ACME CAs",
            hint=f"choose one of: {', '.join(k.value for k in allowed)}",
        )
    return kt


def _command(options: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            argv = shlex.split(value)
        except ValueError as exc:
            raise _err(key, f"cannot split the command {value!r}: {exc}") from exc
    elif isinstance(value, list | tuple) and all(isinstance(a, str) for a in value):
        argv = list(value)
    else:
        raise _err(key, "must be a command line (a string or a list of strings)")
    if not argv:
        raise _err(key, "the command is empty")
    return tuple(argv)


def _host_port(key: str, text: str, default_port: int) -> tuple[str, int]:
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            port = int(rest.lstrip(":")) if rest.lstrip(":").isdigit() else -1
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = int(port_text) if port_text.isdigit() else -1
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise _err(key, f"{text!r} is not an IP address[:port]", hint="e.g. 127.0.0.1:53") from None
    if not 0 < port < 65536:
        raise _err(key, f"bad port in {text!r}")
    return host, port


def _directory(options: Mapping[str, Any]) -> str:
    text = _str(options, "directory")
    if text is None:
        raise _err(
            "directory",
            "is required",
            hint="pass --directory letsencrypt-staging (try it first), letsencrypt, or a URL",
        )
    url = ALIASES.get(text.lower(), text)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise _err(
            "directory",
            f"{text!r} is neither an alias nor an https URL",
            hint=f"use {', '.join(ALIASES)} or https://HOST/PATH",
        )
    return url


def directory_slug(url: str) -> str:
    """A folder name for a directory URL: its host, plus ``_PORT`` when a port is given."""
    parts = urlsplit(url)
    host = (parts.hostname or "acme").replace(":", "_")
    return f"{host}_{parts.port}" if parts.port else host


@dataclass(frozen=True, slots=True, kw_only=True)
class AcmeOptions:
    """Parsed provider options (see :meth:`parse`); secrets are hidden from ``repr``."""

    directory: str
    ca_bundle: Path | None = None
    agree_tos: bool = False
    email: str | None = None
    account_dir: Path
    eab_kid: str | None = None
    eab_hmac_key: str | None = field(default=None, repr=False)
    eab_alg: str = "HS256"
    account_key_type: KeyType = KeyType.EC256
    challenge: str = "http-01"
    http_address: str = "::"
    http_port: int = 80
    webroot: Path | None = None
    pre_hook: tuple[str, ...] | None = None
    post_hook: tuple[str, ...] | None = None
    dns: str | None = None
    dns_hook: str | None = None
    lexicon_provider: str | None = None
    lexicon: Mapping[str, str] = field(default_factory=dict, repr=False)
    rfc2136_server: tuple[str, int] | None = None
    tsig_key: Path | None = None
    dns_propagation_timeout: float = 120.0
    dns_resolver: tuple[str, int] | None = None
    key_type: KeyType = KeyType.EC256
    profile: str | None = None
    preferred_chain: str | None = None
    root_ca: Path | None = None
    timeout: float = 90.0

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> AcmeOptions:
        """Validate the raw options (a config table or the CLI flags).

        Raises:
            ConfigError: an unknown key, a missing directory, or a value of the wrong kind.
        """
        unknown = sorted(
            str(k) for k in options if k not in ALLOWED and not str(k).startswith(LEXICON_PREFIX)
        )
        if unknown:
            raise _err(
                unknown[0],
                f"unknown option(s) {', '.join(unknown)}",
                hint=f"allowed options: {', '.join(ALLOWED)}",
            )
        directory = _directory(options)
        agree = options.get("agree_tos", False)
        if not isinstance(agree, bool):
            raise _err("agree_tos", f"must be true or false, got {agree!r}")
        email = _str(options, "email")
        if email is not None and ("@" not in email or " " in email):
            raise _err("email", f"{email!r} is not an e-mail address")
        account_dir = _path(options, "account_dir")
        if account_dir is None:
            state = _path(options, "state_dir") or default_state_dir()
            account_dir = state / "acme" / directory_slug(directory)
        elif options.get("state_dir") is not None:
            _path(options, "state_dir")
        eab_kid = _str(options, "eab_kid")
        eab_hmac = resolve_secret(options.get("eab_hmac_key"), key="eab_hmac_key")
        if (eab_kid is None) != (eab_hmac is None):
            raise _err(
                "eab_kid" if eab_kid is None else "eab_hmac_key",
                "external account binding needs both eab_kid and eab_hmac_key",
                hint="copy both from your CA's account page",
            )
        eab_alg = (_str(options, "eab_alg") or "HS256").upper()
        if eab_alg not in _EAB_ALGS:
            raise _err("eab_alg", f"unknown {eab_alg!r}", hint=f"choose {', '.join(_EAB_ALGS)}")
        challenge = (_str(options, "challenge") or "http-01").lower()
        if challenge not in _CHALLENGES:
            raise _err(
                "challenge", f"unknown {challenge!r}", hint=f"choose {', '.join(_CHALLENGES)}"
            )
        http_address = _str(options, "http_address") or "::"
        try:
            ipaddress.ip_address(http_address)
        except ValueError:
            raise _err("http_address", f"{http_address!r} is not an IP address") from None
        http_port = options.get("http_port", 80)
        if isinstance(http_port, str) and http_port.isdigit():
            http_port = int(http_port)
        if isinstance(http_port, bool) or not isinstance(http_port, int):
            raise _err("http_port", f"must be a port number, got {http_port!r}")
        if not 0 < http_port < 65536:
            raise _err("http_port", f"{http_port} is not a port number (1-65535)")
        webroot = _path(options, "webroot", must_exist="dir")
        dns_hook = _str(options, "dns_hook")
        rfc = _str(options, "rfc2136_server")
        rfc2136 = _host_port("rfc2136_server", rfc, 53) if rfc else None
        tsig = _path(options, "tsig_key", must_exist="file")
        resolver_text = _str(options, "dns_resolver")
        resolver = _host_port("dns_resolver", resolver_text, 53) if resolver_text else None
        lexicon_provider = _str(options, "lexicon_provider")
        lexicon = lexicon_options(options)
        dns = dns_kind(options, challenge, lexicon_provider)
        if dns == "lexicon":
            if lexicon_provider is None:
                raise _err(
                    "lexicon_provider",
                    "dns = lexicon needs lexicon_provider",
                    hint="name a dns-lexicon provider, e.g. cloudflare or powerdns",
                )
            if dns_hook or rfc2136:
                raise _err("dns", "dns = lexicon takes no dns_hook or rfc2136_server")
            require_lexicon()
        elif challenge == "dns-01":
            if (dns_hook is None) == (rfc2136 is None):
                raise _err(
                    "dns_hook",
                    "dns-01 needs exactly one of dns_hook, rfc2136_server or lexicon_provider",
                    hint="pass --dns-hook PROG, --rfc2136-server ADDR --tsig-key FILE, or "
                    "--dns lexicon --lexicon-provider NAME",
                )
            if rfc2136 is not None and tsig is None:
                raise _err("tsig_key", "rfc2136_server needs a TSIG key file")
        elif dns_hook or rfc2136 or tsig or lexicon_provider or lexicon:
            raise _err("challenge", "DNS options were given but the challenge is http-01")
        if webroot is not None and challenge != "http-01":
            raise _err("webroot", "webroot is for the http-01 challenge only")
        if webroot is not None and (options.get("pre_hook") or options.get("post_hook")):
            raise _err("pre_hook", "pre/post hooks are for the standalone http-01 server only")
        root_ca = _path(options, "root_ca", must_exist="file")
        ca_bundle = _path(options, "ca_bundle", must_exist="file")
        return cls(
            directory=directory,
            ca_bundle=ca_bundle,
            agree_tos=agree,
            email=email,
            account_dir=account_dir,
            eab_kid=eab_kid,
            eab_hmac_key=eab_hmac,
            eab_alg=eab_alg,
            account_key_type=_key_type(options, "account_key_type", _ACCOUNT_KEYS),
            challenge=challenge,
            http_address=http_address,
            http_port=http_port,
            webroot=webroot,
            pre_hook=_command(options, "pre_hook"),
            post_hook=_command(options, "post_hook"),
            dns=dns,
            dns_hook=dns_hook,
            lexicon_provider=lexicon_provider,
            lexicon=lexicon,
            rfc2136_server=rfc2136,
            tsig_key=tsig,
            dns_propagation_timeout=_number(options, "dns_propagation_timeout", 120.0, low=0),
            dns_resolver=resolver,
            key_type=_key_type(options, "key_type", _ACCOUNT_KEYS),
            profile=_str(options, "profile"),
            preferred_chain=_str(options, "preferred_chain"),
            root_ca=root_ca,
            timeout=_number(options, "timeout", 90.0, low=1),
        )
