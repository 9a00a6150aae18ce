"""Parse and format OpenSSL ``-subj`` strings such as ``/C=CN/O=example/CN=My Root CA``.

Grammar (as ``openssl req -subj`` reads it): every relative distinguished name starts with ``/``;
``+`` joins several attributes into one multi-valued RDN; a backslash escapes the next
character, so ``\\/``, ``\\+``, ``\\=`` and ``\\\\`` put a literal ``/``, ``+``, ``=`` or
``\\`` into a value.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from tlsprov.errors import InputError

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["ATTRIBUTES", "format_subject", "parse_subject"]

_EXAMPLE = "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=MyPersonal Root CA"
_HINT = (
    f"write the subject like {_EXAMPLE} (a '/' before every ATTRIBUTE=value; "
    "escape '/', '+' and '\\' inside values with a backslash)"
)

#: Accepted attribute names → (NameOID attribute name, RFC 5280 upper bound on the length).
ATTRIBUTES: dict[str, tuple[str, int]] = {
    "C": ("COUNTRY_NAME", 2),
    "ST": ("STATE_OR_PROVINCE_NAME", 128),
    "L": ("LOCALITY_NAME", 128),
    "O": ("ORGANIZATION_NAME", 64),
    "OU": ("ORGANIZATIONAL_UNIT_NAME", 64),
    "CN": ("COMMON_NAME", 64),
    "emailAddress": ("EMAIL_ADDRESS", 255),
    "serialNumber": ("SERIAL_NUMBER", 64),
    "DC": ("DOMAIN_COMPONENT", 63),
    "street": ("STREET_ADDRESS", 128),
    "title": ("TITLE", 64),
    "GN": ("GIVEN_NAME", 64),
    "SN": ("SURNAME", 64),
    "UID": ("USER_ID", 256),
    "postalCode": ("POSTAL_CODE", 40),
}
_BY_FOLDED = {name.casefold(): name for name in ATTRIBUTES}
# PrintableString's alphabet (serialNumber is encoded as a PrintableString).
_PRINTABLE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]+$")
_ASCII_PRINTABLE = re.compile(r"^[\x20-\x7e]+$")
_ESCAPED = re.compile(r"([\\/+=])")


def _fail(message: str) -> InputError:
    return InputError(f"bad subject: {message}", hint=_HINT)


def _split(text: str) -> list[list[tuple[str, str]]]:
    """Split into RDNs of (attribute, value) pairs, resolving escapes."""
    if not text.strip():
        raise _fail("the subject is empty")
    if not text.startswith("/"):
        raise _fail(f"{text!r} does not start with '/'")
    rdns: list[list[tuple[str, str]]] = []
    i, n = 1, len(text)
    current: list[tuple[str, str]] = []
    while True:
        # attribute type: up to an unescaped '='
        start = i
        while i < n and text[i] not in "=/+":
            i += 1
        attr = text[start:i].strip()
        if i < n and text[i] == "=" and not attr:
            raise _fail("an attribute name is missing before '='")
        if i >= n or text[i] != "=":
            shown = attr or text[start:i]
            raise _fail(f"'{shown}' has no '=value' part" if shown else "an attribute is missing")
        i += 1
        value: list[str] = []
        while i < n and text[i] not in "/+":
            if text[i] == "\\":
                if i + 1 >= n:
                    raise _fail("the subject ends with a lone backslash")
                value.append(text[i + 1])
                i += 2
            else:
                value.append(text[i])
                i += 1
        current.append((attr, "".join(value)))
        if i >= n:
            rdns.append(current)
            return rdns
        if text[i] == "/":
            rdns.append(current)
            current = []
        i += 1
        if i >= n:
            raise _fail("the subject ends with a separator and no attribute")


def _check_value(attr: str, value: str) -> str:
    _, limit = ATTRIBUTES[attr]
    if not value.strip():
        raise _fail(f"{attr} has an empty value")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise _fail(f"{attr} contains a control character")
    if attr == "C":
        if len(value) != 2 or not (value.isascii() and value.isalpha()):
            raise _fail(f"C must be a two-letter country code such as CN or DE, got {value!r}")
        return value.upper()
    if len(value) > limit:
        raise _fail(f"{attr} is {len(value)} characters long; at most {limit} are allowed")
    if attr == "serialNumber" and not _PRINTABLE.match(value):
        raise _fail("serialNumber may only hold letters, digits, spaces and '()+,-./:=?")
    if attr in ("emailAddress", "DC") and not _ASCII_PRINTABLE.match(value):
        raise _fail(f"{attr} must be plain ASCII")
    return value


def parse_subject(text: str) -> x509.Name:
    """Parse an OpenSSL ``-subj`` string into a certificate name.

    Attribute names are matched case-insensitively: C, ST, L, O, OU, CN, emailAddress,
    serialNumber, DC, street, title, GN, SN, UID, postalCode.

    Raises:
        InputError: a missing leading ``/``, a missing ``=``, an empty value, an unknown attribute,
            a country that is not two letters, an over-long value, or an empty string.
    """
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if not isinstance(text, str):
        raise _fail("the subject must be a string")
    rdns = []
    for pairs in _split(text):
        attributes = []
        for raw_attr, raw_value in pairs:
            attr = _BY_FOLDED.get(raw_attr.casefold())
            if attr is None:
                known = ", ".join(ATTRIBUTES)
                raise _fail(f"unknown attribute '{raw_attr}'; use one of {known}")
            value = _check_value(attr, raw_value)
            oid = getattr(NameOID, ATTRIBUTES[attr][0])
            attributes.append(x509.NameAttribute(oid, value))
        try:
            rdns.append(x509.RelativeDistinguishedName(attributes))
        except ValueError as exc:
            raise _fail(f"a multi-valued name repeats an attribute ({exc})") from exc
    return x509.Name(rdns)


def _escape(value: str) -> str:
    return _ESCAPED.sub(r"\\\1", value)


def format_subject(name: x509.Name) -> str:
    """Write a certificate name as an OpenSSL ``-subj`` string (the inverse of parse_subject).

    Attributes without a short name here are written with their dotted OID.
    """
    from cryptography.x509.oid import NameOID

    short = {getattr(NameOID, oid_name): attr for attr, (oid_name, _) in ATTRIBUTES.items()}
    parts = []
    for rdn in name.rdns:
        items = []
        for attribute in rdn:
            label = short.get(attribute.oid, attribute.oid.dotted_string)
            value = attribute.value
            text = value if isinstance(value, str) else value.hex()
            items.append(f"{label}={_escape(text)}")
        parts.append("/" + "+".join(items))
    return "".join(parts)
