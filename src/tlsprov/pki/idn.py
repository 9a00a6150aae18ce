"""International host names: U-labels to A-labels, and ``xn--`` labels checked (IDNA 2008)."""

from __future__ import annotations

from tlsprov.errors import InputError

__all__ = ["idna_2008"]


def idna_2008(body: str, text: str) -> str:
    """``body`` as A-labels; U-labels and ``xn--`` labels are checked by IDNA 2008 (RFC 5891).

    Raises:
        InputError: a label is not valid IDNA 2008, or an ``xn--`` label is not the canonical
            A-label of a valid U-label.
    """
    if body.isascii() and not any(label.startswith("xn--") for label in body.split(".")):
        return body
    import idna

    try:
        if not body.isascii():
            body = idna.encode(body, uts46=True).decode("ascii")
        for label in body.split("."):
            if label.startswith("xn--") and idna.alabel(idna.ulabel(label)).decode() != label:
                raise idna.IDNAError(f"{label} is not the canonical A-label")
    except UnicodeError as exc:  # idna.IDNAError is a UnicodeError
        raise InputError(
            f"'{text}' is not a valid international host name (IDNA 2008: {exc})",
            hint="type the name in its Unicode form or copy its xn-- form from DNS",
        ) from None
    return body
