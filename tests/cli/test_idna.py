"""Host names with international labels: A-labels and U-labels are checked by IDNA 2008."""

from __future__ import annotations

import pytest

from tlsprov.errors import InputError
from tlsprov.pki.x509 import parse_identity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("xn--bcher-kva.test", "xn--bcher-kva.test"),
        ("Bücher.test", "xn--bcher-kva.test"),
        ("XN--BCHER-KVA.test", "xn--bcher-kva.test"),
        ("*.xn--bcher-kva.test", "*.xn--bcher-kva.test"),
        ("faß.test", "xn--fa-hia.test"),  # IDNA 2008 keeps ß (IDNA 2003 made it 'ss')
    ],
)
def test_valid_international_names(text: str, expected: str) -> None:
    assert parse_identity(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "xn--zz.test",  # not Punycode at all
        "xn--.test",  # empty Punycode
        "xn--53h.test",  # a hot-beverage symbol, which IDNA 2008 disallows
        "☃.test",  # a snowman U-label (IDNA 2003 accepted symbols)
        "xn--a.test",  # Punycode of a plain ASCII label, which must not be encoded
    ],
)
def test_invalid_international_names_are_refused(text: str) -> None:
    # issue 11 item 16: 'issue xn--zz.test' succeeded
    with pytest.raises(InputError) as info:
        parse_identity(text)
    assert "IDNA" in info.value.one_line()


def test_issue_refuses_a_bad_a_label(cli, make_ca, tree, tmp_path) -> None:
    ca = make_ca("ca")
    out = tmp_path / "out"
    before = tree(ca, out)
    res = cli("issue", "xn--zz.test", "--ca-dir", ca, "--out", out, "--key-type", "ec256")
    assert res.code == 2, res.err
    assert len(res.err_lines) == 1
    assert "xn--zz" in res.err and "IDNA" in res.err
    assert tree(ca, out) == before
