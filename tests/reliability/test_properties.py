"""Property-based tests for the parsers users feed by hand: ``-subj`` strings, host names and
``tlsprov.toml`` values. Deterministic (``derandomize``) and bounded, so CI never flakes.

The properties: any input either parses or raises the parser's own error class (never anything
else); everything the generators build as valid parses; accepted values round-trip.
"""

from __future__ import annotations

import ipaddress
import math
import string
from typing import Any

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsprov.errors import ConfigError, InputError
from tlsprov.lifecycle.config import Config, parse_config
from tlsprov.pki.x509 import parse_identity
from tlsprov_selfsigned._subject import ATTRIBUTES, format_subject, parse_subject

BOUNDED = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --------------------------------------------------------------------------- -subj strings

_SUBJ_CHARS = st.sampled_from("/+=\\ ,.-_abcXYZ019\t\x00é")
_PRINTABLE_SN = string.ascii_letters + string.digits + " '()+,-./:=?"


def _value_for(attr: str) -> st.SearchStrategy[str]:
    limit = ATTRIBUTES[attr][1]
    if attr == "C":
        return st.text(string.ascii_uppercase, min_size=2, max_size=2)
    if attr == "serialNumber":
        alphabet = _PRINTABLE_SN
    elif attr in ("emailAddress", "DC"):
        alphabet = "".join(chr(c) for c in range(0x21, 0x7F))
    else:  # any printable text, escapes included; no control or surrogate characters
        alphabet = st.characters(blacklist_categories=("Cc", "Cs"))  # type: ignore[assignment]
    return st.text(alphabet, min_size=1, max_size=min(limit, 20)).filter(lambda v: v.strip())


@st.composite
def _subjects(draw: Any) -> list[list[tuple[str, str]]]:
    rdns = []
    for _ in range(draw(st.integers(1, 4))):
        names = st.sampled_from(list(ATTRIBUTES))
        attrs = draw(st.lists(names, min_size=1, max_size=2, unique=True))
        rdns.append([(a, draw(_value_for(a))) for a in attrs])
    return rdns


def _escape(value: str) -> str:
    return "".join("\\" + c if c in "\\/+=" else c for c in value)


def _render(rdns: list[list[tuple[str, str]]]) -> str:
    return "".join("/" + "+".join(f"{a}={_escape(v)}" for a, v in rdn) for rdn in rdns)


@BOUNDED
@given(st.text(_SUBJ_CHARS, max_size=40) | st.text(max_size=40))
def test_subject_parser_raises_only_input_error(text: str) -> None:
    try:
        name = parse_subject(text)
    except InputError as exc:
        assert exc.message.startswith("bad subject: ")
        assert "\n" not in exc.one_line()
    else:
        assert isinstance(name, x509.Name)


@BOUNDED
@given(_subjects())
def test_valid_subjects_parse_and_round_trip(rdns: list[list[tuple[str, str]]]) -> None:
    name = parse_subject(_render(rdns))
    got = [[(a.oid, a.value) for a in rdn] for rdn in name.rdns]
    want = [[(_oid(a), v) for a, v in rdn] for rdn in rdns]
    # a multi-valued RDN is a set: compare each one sorted
    assert [sorted(r, key=_key) for r in got] == [sorted(r, key=_key) for r in want]
    assert parse_subject(format_subject(name)) == name


def _oid(attr: str) -> x509.ObjectIdentifier:
    from cryptography.x509.oid import NameOID

    oid: x509.ObjectIdentifier = getattr(NameOID, ATTRIBUTES[attr][0])
    return oid


def _key(item: tuple[x509.ObjectIdentifier, Any]) -> tuple[str, str]:
    return item[0].dotted_string, str(item[1])


# --------------------------------------------------------------------------- host names

_LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z")
_NAMES = (
    st.lists(_LABEL, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda n: not n.rsplit(".", 1)[-1].isdigit())
    .filter(lambda n: not any(label.startswith("xn--") for label in n.split(".")))  # A-labels
)
_HOST_CHARS = st.sampled_from("abz09-._*:[]%/ \tÄé\x00xn--")


@BOUNDED
@given(st.text(_HOST_CHARS, max_size=30) | st.text(max_size=30))
def test_parse_identity_raises_only_input_error(text: str) -> None:
    try:
        result = parse_identity(text)
    except InputError as exc:
        assert "\n" not in exc.one_line()
        return
    if isinstance(result, str):
        assert result == parse_identity(result)  # accepted names are canonical
        assert result.isascii() and result == result.lower()
    else:
        assert isinstance(result, ipaddress.IPv4Address | ipaddress.IPv6Address)


@BOUNDED
@given(st.text("abz09-.", min_size=1, max_size=70) | st.text(_HOST_CHARS, max_size=30))
def test_the_one_match_path_for_plain_names_agrees_with_the_full_checks(text: str) -> None:
    """A name in normal form is answered by one regex match; ``" " + text`` takes every step
    (strip, addresses, IDNA, labels) and must give the same answer."""

    def outcome(value: str) -> object:
        try:
            return parse_identity(value)
        except InputError:
            return InputError

    assert outcome(text) == outcome(" " + text)


@BOUNDED
@given(_NAMES, st.booleans(), st.booleans())
def test_host_names_round_trip(name: str, wildcard: bool, upper: bool) -> None:
    text = ("*." if wildcard else "") + name
    result = parse_identity(text.upper() if upper else text)
    assert result == text
    assert parse_identity(str(result)) == result


@BOUNDED
@given(st.ip_addresses())
def test_ip_addresses_are_classified_as_addresses(ip: Any) -> None:
    assert parse_identity(str(ip)) == ip
    if ip.version == 6:
        assert parse_identity(f"[{ip}]") == ip
    assert parse_identity(f" {ip} ") == ip


# --------------------------------------------------------------------------- tlsprov.toml

_ABS = st.lists(st.from_regex(r"\A[a-z0-9_]{1,8}\Z"), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
_HOSTS = _NAMES | st.ip_addresses().map(str)


@st.composite
def _valid_configs(draw: Any) -> dict[str, Any]:
    harbor: dict[str, Any] = {"hostname": draw(_NAMES)}
    if draw(st.booleans()):
        harbor["https_port"] = draw(st.integers(1, 65535))
    if draw(st.booleans()):
        harbor["alt_names"] = draw(st.lists(_HOSTS, max_size=3))
    if draw(st.booleans()):
        harbor["install_dir"] = draw(_ABS)
    if draw(st.booleans()):
        harbor["data_volume"] = draw(_ABS)
    name = draw(st.sampled_from(["selfsigned", "letsencrypt", "other"]))
    provider: dict[str, Any] = {"name": name, name: {"key_type": "ec256"}}
    install: dict[str, Any] = {
        "root": draw(_ABS),
        "targets": draw(st.lists(st.sampled_from(["harbor", "docker", "os-trust"]), min_size=1)),
        "verify": draw(st.booleans()),
        "verify_timeout": draw(
            st.integers(1, 3600) | st.floats(0.5, 3600, allow_nan=False, allow_infinity=False)
        ),
        "client_only": draw(st.booleans()),
    }
    renew: dict[str, Any] = {
        "before": draw(
            st.integers(1, 90) | st.integers(1, 99).map(lambda n: f"{n}%") | st.just("30d")
        )
    }
    return {
        "harbor": harbor,
        "provider": provider,
        "install": install,
        "renew": renew,
        "state": {"dir": draw(_ABS)},
    }


@BOUNDED
@given(_valid_configs())
def test_valid_configs_parse(raw: dict[str, Any]) -> None:
    config = parse_config(raw)
    assert isinstance(config, Config)
    assert config.harbor.hostname == raw["harbor"]["hostname"]
    assert config.harbor.https_port == raw["harbor"].get("https_port", 443)
    assert config.provider_name == raw["provider"]["name"]
    assert config.provider_options == raw["provider"][raw["provider"]["name"]]
    assert list(config.install.targets) == raw["install"]["targets"]
    assert config.install.verify_timeout == float(raw["install"]["verify_timeout"])
    assert config.warnings == ()


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["harbor.test", "/abs/path", "33%", "0%", "..", "/a/../b", "127.0.0.1"])
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = {
    "harbor": ["hostname", "https_port", "alt_names", "install_dir", "data_volume", "zzz"],
    "provider": ["name", "selfsigned", "letsencrypt"],
    "install": ["root", "targets", "client_only", "verify", "verify_timeout", "connect"],
    "renew": ["before", "pre_hook", "deploy_hook", "post_hook"],
    "state": ["dir"],
}


@st.composite
def _any_configs(draw: Any) -> dict[str, Any]:
    """Mostly well-formed configs with some values swapped for anything at all."""
    raw = draw(_valid_configs())
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from([*_KEYS, "bogus"]))
        if section == "bogus" or draw(st.integers(0, 9)) == 0:
            raw[section] = draw(_VALUES)
            continue
        table = raw.setdefault(section, {})
        if isinstance(table, dict):
            table[draw(st.sampled_from(_KEYS[section]))] = draw(_VALUES)
    return {k: v for k, v in raw.items() if v is not None}


def _toml_clean(value: Any) -> Any:
    """TOML has no null: drop None the way a TOML document cannot hold it."""
    if isinstance(value, dict):
        return {k: _toml_clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_clean(v) for v in value if v is not None]
    return value


@BOUNDED
@given(_any_configs())
def test_config_parser_raises_only_config_error(raw: dict[str, Any]) -> None:
    try:
        config = parse_config(_toml_clean(raw))
    except ConfigError as exc:
        assert "\n" not in exc.one_line()
        return
    timeout = config.install.verify_timeout
    assert math.isfinite(timeout) and timeout > 0, f"accepted verify_timeout = {timeout}"
    assert 1 <= config.harbor.https_port <= 65535


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value: float) -> None:
    """TOML has ``nan`` and ``inf``: a timeout of either must be a ConfigError."""
    raw = {
        "harbor": {"hostname": "harbor.test"},
        "provider": {"name": "selfsigned"},
        "install": {"verify_timeout": value},
    }
    with pytest.raises(ConfigError, match="verify_timeout"):
        parse_config(raw)
