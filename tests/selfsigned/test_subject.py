"""The OpenSSL ``-subj`` parser: examples, refusals and properties."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsprov.errors import InputError
from tlsprov_selfsigned._subject import ATTRIBUTES, format_subject, parse_subject

GUIDE = "/C=CN/ST=Beijing/L=Beijing/O=example/OU=Personal/CN=MyPersonal Root CA"


def pairs(name: x509.Name) -> list[tuple[str, str]]:
    return [(a.oid.dotted_string, str(a.value)) for a in name]


def test_guide_subject() -> None:
    name = parse_subject(GUIDE)
    assert name == x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Beijing"),
            x509.NameAttribute(NameOID.LOCALITY_NAME, "Beijing"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Personal"),
            x509.NameAttribute(NameOID.COMMON_NAME, "MyPersonal Root CA"),
        ]
    )
    assert format_subject(name) == GUIDE


def test_every_attribute_maps_to_its_oid() -> None:
    text = (
        "/C=de/ST=s/L=l/O=o/OU=ou/CN=cn/emailAddress=a@b.test/serialNumber=42/DC=test"
        "/street=Main St 1/title=Dr/GN=Ada/SN=Lovelace/UID=ada/postalCode=12345"
    )
    name = parse_subject(text)
    oids = [a.oid for a in name]
    assert oids == [
        NameOID.COUNTRY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
        NameOID.EMAIL_ADDRESS,
        NameOID.SERIAL_NUMBER,
        NameOID.DOMAIN_COMPONENT,
        NameOID.STREET_ADDRESS,
        NameOID.TITLE,
        NameOID.GIVEN_NAME,
        NameOID.SURNAME,
        NameOID.USER_ID,
        NameOID.POSTAL_CODE,
    ]
    assert name.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "DE"


def test_escapes_and_multivalued_rdn() -> None:
    name = parse_subject(r"/O=a\/b\=c\\d\+e/CN=x=y+UID=7")
    assert len(name.rdns) == 2
    assert name.rdns[0].get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == r"a/b=c\d+e"
    second = name.rdns[1]
    assert second.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "x=y"
    assert second.get_attributes_for_oid(NameOID.USER_ID)[0].value == "7"
    assert parse_subject(format_subject(name)) == name


def test_attribute_names_are_case_insensitive() -> None:
    assert parse_subject("/cn=x/EMAILADDRESS=a@b.test") == parse_subject(
        "/CN=x/emailAddress=a@b.test"
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("CN=x", "does not start with '/'"),
        ("/CN=", "CN has an empty value"),
        ("/CN=  ", "CN has an empty value"),
        ("/XX=y", "unknown attribute 'XX'"),
        ("/CN", "'CN' has no '=value' part"),
        ("/O=x/CN", "'CN' has no '=value' part"),
        ("/C=CHN", "two-letter country code"),
        ("/C=1A", "two-letter country code"),
        ("/CN=x/", "ends with a separator"),
        ("/CN=x+", "ends with a separator"),
        ("/CN=x//O=y", "an attribute is missing"),
        ("/=x", "attribute name is missing"),
        ("/CN=x\\", "lone backslash"),
        ("/CN=" + "a" * 65, "at most 64"),
        ("/CN=a\x00b", "control character"),
        ("/CN=a\x85b", "control character"),
        ("/serialNumber=a_b", "serialNumber"),
        ("/emailAddress=ü@x.test", "ASCII"),
        ("/CN=a+CN=a", "repeats an attribute"),
    ],
)
def test_refusals(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_subject(text)
    assert fragment in info.value.message
    assert info.value.hint is not None
    assert "/C=CN/ST=Beijing" in info.value.hint


_SAFE_ATTRS = [a for a in ATTRIBUTES if a not in ("C", "serialNumber", "emailAddress", "DC")]
_value = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), max_codepoint=0x2FFF)
    | st.sampled_from("/=+\\"),
    min_size=1,
    max_size=30,
).filter(lambda v: v.strip() != "")
_component = st.tuples(st.sampled_from(_SAFE_ATTRS), _value)
_country = st.tuples(st.just("C"), st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2))


def _escape(value: str) -> str:
    out = []
    for char in value:
        out.append("\\" + char if char in "/=+\\" else char)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_component, _country), min_size=1, max_size=8))
def test_round_trip(components: list[tuple[str, str]]) -> None:
    text = "".join(f"/{attr}={_escape(value)}" for attr, value in components)
    name = parse_subject(text)
    expected = [(getattr(NameOID, ATTRIBUTES[a][0]).dotted_string, v) for a, v in components]
    assert pairs(name) == expected
    assert len(name.rdns) == len(components)
    assert parse_subject(format_subject(name)) == name


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_garbage_raises_only_input_error(text: str) -> None:
    try:
        name = parse_subject(text)
    except InputError as exc:
        assert exc.hint
    else:
        assert isinstance(name, x509.Name)
        assert text.startswith("/")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="/=+\\CNOUST ab", max_size=40))
def test_structured_garbage_raises_only_input_error(text: str) -> None:
    try:
        name = parse_subject(text)
    except InputError as exc:
        assert exc.message.startswith("bad subject: ")
    else:
        assert parse_subject(format_subject(name)) == name
