"""Frozen value types shared by the core, the providers and the installer targets."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError

if TYPE_CHECKING:
    from tlsprov.interfaces import Provider, Target

__all__ = [
    "CertificateRequest",
    "IPAddress",
    "IssuedBundle",
    "KeyType",
    "ProviderSpec",
    "TargetSpec",
    "Usage",
]

IPAddress = IPv4Address | IPv6Address

_PLUGIN_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class KeyType(enum.Enum):
    """Private key algorithms; the values are the CLI spellings."""

    RSA2048 = "rsa2048"
    RSA3072 = "rsa3072"
    RSA4096 = "rsa4096"
    EC256 = "ec256"
    EC384 = "ec384"
    ED25519 = "ed25519"

    @property
    def is_rsa(self) -> bool:
        """True for the RSA key types."""
        return self.value.startswith("rsa")

    @classmethod
    def parse(cls, text: str) -> KeyType:
        """Return the key type spelled ``text`` (case-insensitive) or raise InputError."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            choices = ", ".join(k.value for k in cls)
            raise InputError(f"unknown key type '{text}'; choose one of: {choices}") from None


class Usage(enum.Enum):
    """What the certificate is for: a TLS server or a TLS client."""

    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateRequest:
    """What to certify.

    Build it with :func:`tlsprov.make_request`, which parses and normalises names; the
    constructor only checks invariants.

    Attributes:
        dns_names: DNS names as A-labels, lower case; the first is the subject CN.
        ip_addresses: IP addresses, written as IP SANs (never as DNS names).
        usage: ``Usage.SERVER`` (serverAuth) or ``Usage.CLIENT`` (clientAuth).
        key_type: the key to generate; ``None`` means the provider's default.
        validity_days: requested lifetime; ``None`` means the provider's default.
    """

    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()
    usage: Usage = Usage.SERVER
    key_type: KeyType | None = None
    validity_days: int | None = None

    def __post_init__(self) -> None:
        if not self.dns_names and not self.ip_addresses:
            raise InputError("a certificate needs at least one name or IP address")
        if self.validity_days is not None and self.validity_days < 1:
            raise InputError(
                f"validity must be at least 1 day, got {self.validity_days}",
                hint="pass --days with a positive number",
            )

    @property
    def primary_name(self) -> str:
        """The first DNS name, else the first IP address, as text."""
        if self.dns_names:
            return self.dns_names[0]
        return str(self.ip_addresses[0])

    @property
    def identities(self) -> tuple[str, ...]:
        """Every name and address as text, DNS names first."""
        return self.dns_names + tuple(str(ip) for ip in self.ip_addresses)


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedBundle:
    """An issued certificate with everything an installer needs.

    Attributes:
        private_key_pem: the leaf's private key, PKCS#8 PEM. Never shown by ``repr``.
        leaf_pem: the leaf certificate, PEM.
        chain_pem: intermediate certificates (leaf excluded), issuer of the leaf first.
        ca_pem: the certificate clients must trust (a root, or the last chain element).
    """

    private_key_pem: bytes = field(repr=False)
    leaf_pem: bytes
    chain_pem: tuple[bytes, ...] = ()
    ca_pem: bytes

    @property
    def fullchain_pem(self) -> bytes:
        """Leaf then intermediates: what a TLS server sends (``H.crt``)."""
        parts = [self.leaf_pem, *self.chain_pem]
        return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts)


def _check_plugin_name(kind: str, name: str) -> None:
    if not _PLUGIN_NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r} must match {_PLUGIN_NAME.pattern} (lower case, digits, '-')"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """A provider offered by a plugin.

    Attributes:
        name: what users type (``--provider NAME``, ``[provider] name``).
        factory: called with the provider's options mapping; returns a :class:`Provider`.
            It should reject unknown options with ``ConfigError``.
        description: one line for ``tlsprov plugins``.
    """

    name: str
    factory: Callable[[dict[str, Any]], Provider]
    description: str = ""

    def __post_init__(self) -> None:
        _check_plugin_name("provider", self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetSpec:
    """An installer target offered by a plugin.

    Attributes:
        name: what users list in ``--targets`` or ``[install] targets``.
        factory: called without arguments; returns a :class:`Target`.
        description: one line for ``tlsprov plugins``.
    """

    name: str
    factory: Callable[[], Target]
    description: str = ""

    def __post_init__(self) -> None:
        _check_plugin_name("target", self.name)
