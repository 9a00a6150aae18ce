"""Leaves from a per-CA DER template: the bytes ``CertificateBuilder`` writes, for less work.

Every leaf of one CA and kind (key family, usage) shares its version, signature algorithm,
issuer and the four fixed extensions (AKI, basicConstraints, keyUsage, extendedKeyUsage). The
first leaf of a kind is built by ``CertificateBuilder``; :func:`derive_template` cuts those shared
parts out of its DER and keeps them only if re-encoding that very leaf from its inputs gives the
builder's to-be-signed bytes exactly, and a signature over them verifies with the CA's key.
Later leaves of that kind only encode what differs (serial, validity, CN, key, SAN, SKI) and
sign. Anything unusual (no CN, another structure, another key family) stays with the builder.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from tlsprov.models import IPAddress

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["LeafInputs", "LeafTemplate", "derive_template"]

_SEQUENCE, _SET, _BIT_STRING, _OCTET_STRING = 0x30, 0x31, 0x03, 0x04
_CN = bytes.fromhex("0603550403")  # OID 2.5.4.3, commonName
_SAN = bytes.fromhex("0603551d11")  # OID 2.5.29.17, subjectAltName
#: Extension { OID 2.5.29.14 subjectKeyIdentifier, OCTET STRING { OCTET STRING (20 bytes) } }
_SKI_EXTENSION = bytes.fromhex("301d0603551d0e04160414")
_FIXED = 4  # AKI, basicConstraints, keyUsage, extendedKeyUsage, as build_leaf orders them


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return b"%c%c%s" % (tag, size, content)  # one step: cheaper than bytes() + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """``(tag, content start, end)`` of the element at ``pos``."""
    tag, size = data[pos], data[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + size


def _children(data: bytes, start: int, end: int) -> list[bytes]:
    out = []
    while start < end:
        _, _, stop = _read(data, start)
        out.append(data[start:stop])
        start = stop
    return out


def _content(element: bytes) -> bytes:
    _, start, end = _read(element, 0)
    return element[start:end]


def _time(when: dt.datetime) -> bytes:
    """RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds (UTC)."""
    return _time_at(when.year, when.month, when.day, when.hour, when.minute, when.second)


@functools.lru_cache(maxsize=8)  # a bulk run writes the same second again and again
def _time_at(year: int, month: int, day: int, hour: int, minute: int, second: int) -> bytes:
    if 1950 <= year < 2050:
        return _tlv(
            0x17, b"%02d%02d%02d%02d%02d%02dZ" % (year % 100, month, day, hour, minute, second)
        )
    return _tlv(0x18, b"%04d%02d%02d%02d%02d%02dZ" % (year, month, day, hour, minute, second))


def _subject(cn: bytes) -> bytes:
    """The Name ``CN=cn`` (a UTF8String), DER."""
    size = len(cn)
    if size > 116:  # the outer SEQUENCE would need a long-form length
        return _tlv(_SEQUENCE, _tlv(_SET, _tlv(_SEQUENCE, _CN + _tlv(0x0C, cn))))
    return b"0%c1%c0%c%s\x0c%c%s" % (size + 11, size + 9, size + 7, _CN, size, cn)


def _ski_digest(public_der: bytes) -> bytes:
    """RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (as cryptography does)."""
    _, start, _ = _read(public_der, 0)  # SubjectPublicKeyInfo
    _, _, algorithm_end = _read(public_der, start)  # AlgorithmIdentifier
    _, bits_start, bits_end = _read(public_der, algorithm_end)  # BIT STRING
    bits = public_der[bits_start + 1 : bits_end]  # after the unused-bits byte
    return hashlib.sha1(bits).digest()  # noqa: S324  (an identifier, not a signature)


@functools.cache
def _ecdsa(kind: type[hashes.HashAlgorithm]) -> ec.ECDSA:
    return ec.ECDSA(kind())


@dataclass(slots=True)  # not frozen: made once per leaf, and a frozen init costs a call per field
class LeafInputs:
    """What differs between two leaves of one template."""

    public_der: bytes  # SubjectPublicKeyInfo, DER
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    common_name: str
    dns_names: Sequence[str]
    ip_addresses: Sequence[IPAddress]
    ski: bytes = field(init=False)  # the subjectKeyIdentifier, from public_der

    def __post_init__(self) -> None:
        self.ski = _ski_digest(self.public_der)


@dataclass(frozen=True, slots=True)
class LeafTemplate:
    """The DER every leaf of one CA and kind shares."""

    version: bytes
    algorithm: bytes  # AlgorithmIdentifier of the signature, in the TBS and outside it
    issuer: bytes
    fixed_extensions: bytes
    fixed_values: tuple[x509.ExtensionType, ...]  # what fixed_extensions encodes
    _fixed_map: dict[type[x509.ExtensionType], x509.ExtensionType] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_fixed_map", {type(v): v for v in self.fixed_values})

    def values(self, leaf: LeafInputs) -> dict[type[x509.ExtensionType], x509.ExtensionType]:
        """The extension values :meth:`tbs` encodes for ``leaf``, by value type."""
        values = self._fixed_map.copy()
        values[x509.SubjectAlternativeName] = x509.SubjectAlternativeName(
            [*map(x509.DNSName, leaf.dns_names), *map(x509.IPAddress, leaf.ip_addresses)]
        )
        values[x509.SubjectKeyIdentifier] = x509.SubjectKeyIdentifier(leaf.ski)
        return values

    def tbs(self, leaf: LeafInputs) -> bytes:
        """The to-be-signed certificate, as ``CertificateBuilder`` encodes it."""
        serial = leaf.serial.to_bytes(leaf.serial.bit_length() // 8 + 1, "big")
        names = b"".join(_tlv(0x82, name.encode("ascii")) for name in leaf.dns_names)
        names += b"".join(_tlv(0x87, ip.packed) for ip in leaf.ip_addresses)
        san = _tlv(_SEQUENCE, _SAN + _tlv(_OCTET_STRING, _tlv(_SEQUENCE, names)))
        ski = _SKI_EXTENSION + leaf.ski
        extensions = _tlv(0xA3, _tlv(_SEQUENCE, self.fixed_extensions + san + ski))
        validity = _time(leaf.not_before) + _time(leaf.not_after)  # at most 34 bytes
        return _tlv(
            _SEQUENCE,
            self.version
            + b"\x02%c%s" % (len(serial), serial)  # at most 21 bytes (RFC 5280: 20 octets)
            + self.algorithm
            + self.issuer
            + b"0%c%s" % (len(validity), validity)
            + _subject(leaf.common_name.encode())
            + leaf.public_der
            + extensions,
        )

    def sign(
        self,
        leaf: LeafInputs,
        key: CertificateIssuerPrivateKeyTypes,
        algorithm: hashes.HashAlgorithm | None,
    ) -> tuple[x509.Certificate, bytes]:
        """The certificate for ``leaf``, signed with ``key`` as the builder signs, and its DER."""
        der = self._signed(self.tbs(leaf), key, algorithm)
        return x509.load_der_x509_certificate(der), der

    def _signed(
        self,
        tbs: bytes,
        key: CertificateIssuerPrivateKeyTypes,
        algorithm: hashes.HashAlgorithm | None,
    ) -> bytes:
        if isinstance(key, ec.EllipticCurvePrivateKey) and algorithm is not None:
            signature = key.sign(tbs, _ecdsa(type(algorithm)))
        elif isinstance(key, rsa.RSAPrivateKey) and algorithm is not None:
            signature = key.sign(tbs, padding.PKCS1v15(), algorithm)
        else:
            signature = key.sign(tbs)  # type: ignore[call-arg]  # Ed25519 / Ed448
        return _tlv(_SEQUENCE, tbs + self.algorithm + _tlv(_BIT_STRING, b"\x00" + signature))


def derive_template(
    built: x509.Certificate,
    leaf: LeafInputs,
    *,
    issuer: x509.Certificate,
    key: CertificateIssuerPrivateKeyTypes,
    algorithm: hashes.HashAlgorithm | None,
) -> LeafTemplate | None:
    """The template of ``built`` (a leaf ``CertificateBuilder`` made from ``leaf``, signed with
    ``key`` of ``issuer``), or ``None`` when re-encoding ``leaf`` does not give ``built``'s exact
    to-be-signed bytes and extension values, or a signature over them does not verify."""
    try:
        der = built.public_bytes(serialization.Encoding.DER)
        _, start, end = _read(der, 0)
        tbs, sig_id, _ = _children(der, start, end)
        _, start, end = _read(tbs, 0)
        version, _, tbs_sig_id, issuer_name, _, _, _, extensions = _children(tbs, start, end)
        inner = _content(extensions)  # [3] { SEQUENCE OF Extension }
        exts = _children(inner, *_read(inner, 0)[1:])
        if tbs_sig_id != sig_id or len(exts) != _FIXED + 2:
            return None
        values = tuple(e.value for e in built.extensions)
        template = LeafTemplate(
            version, sig_id, issuer_name, b"".join(exts[:_FIXED]), values[:_FIXED]
        )
        if template.tbs(leaf) != built.tbs_certificate_bytes:
            return None
        if template.values(leaf) != {type(v): v for v in values}:
            return None
        template.sign(leaf, key, algorithm)[0].verify_directly_issued_by(issuer)
    except (ValueError, IndexError, TypeError, InvalidSignature):
        return None
    return template
