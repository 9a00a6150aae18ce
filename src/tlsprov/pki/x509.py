"""Certificate and key helpers: names, PEM parsing, key generation, fingerprints, matching."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError
from tlsprov.models import CertificateRequest, IPAddress, KeyType, Usage
from tlsprov.pki.idn import idna_2008
from tlsprov.pki.keykind import describe_key
from tlsprov.pki.made import per_object, provenance, remember

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import (
        CertificateIssuerPrivateKeyTypes,
        PrivateKeyTypes,
        PublicKeyTypes,
    )

__all__ = [
    "cert_to_pem",
    "covers",
    "describe_key",
    "fingerprint",
    "generate_key",
    "key_matches_cert",
    "key_to_pem",
    "load_cert",
    "load_certs",
    "load_private_key",
    "make_request",
    "now_utc",
    "parse_identity",
    "port_suffix",
    "public_der",
    "san_identities",
    "san_values",
    "signed_by",
    "split_pem",
]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: A name already in its normal form (lower-case ASCII labels): most names, parsed in one match.
_PLAIN_NAME = re.compile(r"(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)*(?!-)[a-z0-9-]{1,63}(?<!-)")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----\r?\n?", re.DOTALL)


@functools.lru_cache(maxsize=1024)  # a bundle check parses each of its names several times
def parse_identity(text: str) -> str | IPAddress:
    """Parse a host name or IP address as typed by a user.

    Returns an ``IPv4Address``/``IPv6Address`` for addresses, otherwise the name as a lower-case
    A-label (IDNs are converted). A leading ``*.`` wildcard label is allowed. Single-label names
    such as ``harbor`` are allowed.

    Raises:
        InputError: the text is not a valid host name or address.
    """
    plain = len(text) <= 253 and _PLAIN_NAME.fullmatch(text) and "xn--" not in text
    if plain and not text.rpartition(".")[2].isdigit():  # what the checks below return for it
        return text
    raw = text.strip()
    if not raw:
        raise InputError("an empty host name was given", hint="pass a DNS name or IP address")
    candidate = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    if ":" in candidate or candidate[-1:].isdigit():  # no other text can be an address
        try:
            return ipaddress.ip_address(candidate)
        except ValueError:
            pass
    name = raw.rstrip(".").lower()
    wildcard = name.startswith("*.")
    body = name[2:] if wildcard else name
    ascii_name = idna_2008(body, text)
    labels = ascii_name.split(".") if ascii_name else []
    if (
        not labels
        or len(ascii_name) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InputError(
            f"'{text}' is not a valid host name or IP address",
            hint="use letters, digits and '-' in dot-separated labels, e.g. harbor.example.com",
        )
    return f"*.{ascii_name}" if wildcard else ascii_name


_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<name>[^:\[\]]+)):(?P<port>\d{1,5})$")


def port_suffix(text: str) -> tuple[str, str] | None:
    """``(host, port)`` when ``text`` is a valid host followed by ``:PORT``, else None.

    For messages that tell a user to pass the port separately; ``harbor.test:443`` gives
    ``("harbor.test", "443")``, ``[::1]:8443`` gives ``("::1", "8443")``.
    """
    match = _HOST_PORT.match(text.strip())
    if match is None:
        return None
    host = match.group("v6") or match.group("name")
    try:
        parse_identity(host)
    except InputError:
        return None
    return host, match.group("port")


def make_request(
    names: Iterable[str],
    *,
    usage: Usage = Usage.SERVER,
    key_type: KeyType | str | None = None,
    validity_days: int | None = None,
) -> CertificateRequest:
    """Build a :class:`CertificateRequest` from user-typed names and addresses.

    Names are validated and normalised; addresses become IP SANs; duplicates are dropped while
    keeping the first name first.
    """
    dns: list[str] = []
    ips: list[IPAddress] = []
    for text in names:
        ident = parse_identity(text)
        if isinstance(ident, str):
            if ident not in dns:
                dns.append(ident)
        elif ident not in ips:
            ips.append(ident)
    kt = KeyType.parse(key_type) if isinstance(key_type, str) else key_type
    return CertificateRequest(
        dns_names=tuple(dns),
        ip_addresses=tuple(ips),
        usage=usage,
        key_type=kt,
        validity_days=validity_days,
    )


def generate_key(key_type: KeyType) -> CertificateIssuerPrivateKeyTypes:
    """Generate a private key of ``key_type``."""
    return _generator(key_type)()


@functools.cache  # per key type: no import and no branching for every key of a bulk run
def _generator(key_type: KeyType) -> Callable[[], CertificateIssuerPrivateKeyTypes]:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    # the module attributes are looked up at each call, as a direct call would
    if key_type.is_rsa:
        size = int(key_type.value[3:])
        return lambda: rsa.generate_private_key(public_exponent=65537, key_size=size)
    if key_type is KeyType.EC256:
        return lambda: ec.generate_private_key(ec.SECP256R1())
    if key_type is KeyType.EC384:
        return lambda: ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate


@functools.cache
def _formats() -> dict[str, tuple[Any, ...]]:
    """``private_bytes``/``public_bytes`` arguments, made once (``status`` never imports them)."""
    from cryptography.hazmat.primitives import serialization as s

    return {
        "pkcs8": (s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()),
        "spki": (s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo),
        "pem": (s.Encoding.PEM,),
    }


def key_to_pem(key: PrivateKeyTypes) -> bytes:
    """Serialise a private key as unencrypted PKCS#8 PEM."""
    return remember(key.private_bytes(*_formats()["pkcs8"]), key)


def cert_to_pem(cert: x509.Certificate) -> bytes:
    """Serialise a certificate as PEM."""
    made = provenance(cert)
    if made is None or made.der is None:
        return remember(cert.public_bytes(*_formats()["pem"]), cert)
    text = base64.b64encode(made.der)  # the DER it was made from: the same PEM, less work
    lines = b"\n".join([text[i : i + 64] for i in range(0, len(text), 64)])
    return remember(b"-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % lines, cert)


def split_pem(data: bytes, label: str = "CERTIFICATE") -> list[bytes]:
    """Return every PEM block of type ``label`` in ``data``, in order."""
    wanted = label.encode()
    return [
        m.group(0) if m.group(0).endswith(b"\n") else m.group(0) + b"\n"
        for m in _PEM_BLOCK.finditer(data)
        if m.group(1) == wanted
    ]


def load_certs(data: bytes, *, source: str = "input") -> list[x509.Certificate]:
    """Parse every certificate in PEM ``data``.

    Raises:
        InputError: no certificate, or a malformed one.
    """
    from cryptography import x509

    blocks = split_pem(data)
    if not blocks:
        raise InputError(
            f"{source} holds no PEM certificate",
            hint="pass a PEM file starting with -----BEGIN CERTIFICATE-----",
        )
    certs = []
    for block in blocks:
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise InputError(
                f"{source} holds a malformed PEM certificate ({exc})",
                hint="re-export the certificate as PEM",
            ) from exc
    return certs


def load_cert(data: bytes, *, source: str = "input") -> x509.Certificate:
    """Parse the first certificate in PEM ``data`` (see :func:`load_certs`)."""
    return load_certs(data, source=source)[0]


def load_private_key(
    data: bytes,
    *,
    password: bytes | None = None,
    source: str = "input",
    skip_rsa_check: bool = False,
    encrypted_hint: str | None = None,
) -> PrivateKeyTypes:
    """Parse a PEM private key (PKCS#1, SEC1 or PKCS#8, optionally encrypted).

    ``skip_rsa_check`` skips the costly RSA consistency check (half a second for RSA-4096);
    only for keys the caller then matches against a certificate it trusts (a CA's own key).
    ``encrypted_hint`` is what to do about an encrypted key given without a passphrase (the
    default names the CA passphrase options).

    Raises:
        InputError: malformed key, missing or wrong passphrase.
    """
    from cryptography.hazmat.primitives import serialization

    if b"-----BEGIN" not in data or b"PRIVATE KEY-----" not in data:
        raise InputError(
            f"{source} holds no PEM private key",
            hint="pass a PEM key starting with -----BEGIN ... PRIVATE KEY-----",
        )
    encrypted = b"ENCRYPTED" in data
    try:
        return serialization.load_pem_private_key(
            data,
            password=password if encrypted else None,
            unsafe_skip_rsa_key_validation=skip_rsa_check,
        )
    except TypeError as exc:
        raise InputError(
            f"{source} is encrypted and no passphrase was given",
            hint=encrypted_hint
            or "pass the passphrase (--ca-passphrase, --ca-passphrase-env or --ca-passphrase-file)",
        ) from exc
    except ValueError as exc:
        if encrypted:
            raise InputError(
                f"could not decrypt {source}: wrong passphrase",
                hint="check the passphrase and try again",
            ) from exc
        raise InputError(
            f"{source} holds a malformed private key", hint="re-export the key as PEM"
        ) from exc
    except Exception as exc:
        raise InputError(
            f"{source} holds an unsupported private key ({type(exc).__name__})",
            hint="use an RSA, EC or Ed25519 key in PEM",
        ) from exc


def public_der(key: PublicKeyTypes) -> bytes:
    """``key`` as a DER SubjectPublicKeyInfo."""
    return key.public_bytes(*_formats()["spki"])


def key_matches_cert(key: PrivateKeyTypes, cert: x509.Certificate) -> bool:
    """True when ``key`` is the private half of ``cert``'s public key."""
    made = provenance(cert)  # made here: its key objects are at hand, nothing to decode
    if made is not None and made.private_key is key:
        return True
    return key.public_key() == (made.subject_key if made else cert.public_key())


def fingerprint(cert: x509.Certificate, algorithm: str = "sha256") -> str:
    """Colon-separated upper-case hex fingerprint (``sha256`` or ``sha1``)."""
    from cryptography.hazmat.primitives import hashes

    algo: hashes.HashAlgorithm = hashes.SHA1() if algorithm == "sha1" else hashes.SHA256()  # noqa: S303
    return cert.fingerprint(algo).hex(":").upper()


def san_identities(cert: x509.Certificate) -> tuple[list[str], list[IPAddress]]:
    """Return the DNS names and IP addresses of ``cert``'s subjectAltName (empty if none)."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return san_values(san)


_ADDRESSES = (ipaddress.IPv4Address, ipaddress.IPv6Address)


@functools.cache
def _general_names() -> tuple[type[x509.DNSName], type[x509.IPAddress]]:
    from cryptography.x509 import DNSName, IPAddress

    return DNSName, IPAddress


def san_values(san: x509.SubjectAlternativeName) -> tuple[list[str], list[IPAddress]]:
    """The DNS names and IP addresses (not networks) of a subjectAltName value."""
    DNSName, IPName = _general_names()
    dns: list[str] = []
    ips: list[IPAddress] = []
    for name in san:  # one pass, the exact classes first: the ABC checks cost more
        if type(name) is DNSName or isinstance(name, DNSName):
            dns.append(name.value)
        elif isinstance(name, IPName) and isinstance(name.value, _ADDRESSES):
            ips.append(name.value)
    return dns, ips


def covers(dns_names: Sequence[str], ips: Sequence[IPAddress], identity: str) -> bool:
    """True when a SAN list covers ``identity`` (wildcards match exactly one label)."""
    ident = parse_identity(identity)
    if not isinstance(ident, str):
        return ident in ips
    for name in dns_names:
        name = name.lower().rstrip(".")
        if name == ident:
            return True
        if name.startswith("*.") and "." in ident and ident.split(".", 1)[1] == name[2:]:
            return True
    return False


_ISSUERS: dict[int, tuple[object, tuple[bytes, bytes]]] = {}


def _issuer_id(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    """The issuer's public key and subject, DER, kept for the object."""
    return per_object(
        _ISSUERS, issuer, lambda: (public_der(issuer.public_key()), issuer.subject.public_bytes())
    )


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer`` names and signed ``cert`` (its signature verifies with the issuer's
    key); False for another issuer, another key or a mismatched algorithm."""
    made = provenance(cert)
    if made is not None:  # signed in this process: no need to verify what was just made
        return (made.signer, made.issuer) == _issuer_id(issuer)
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = issuer.public_key()
        params = cert.signature_algorithm_parameters
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(params, ec.ECDSA):
            # what verify_directly_issued_by does, without decoding the issuer's key again
            if cert.issuer != issuer.subject:
                return False
            key.verify(cert.signature, cert.tbs_certificate_bytes, params)
        else:
            cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def now_utc() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)
