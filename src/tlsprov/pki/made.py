"""What this process just made, found again without parsing or verifying it a second time.

:func:`~tlsprov.pki.x509.key_to_pem` and :func:`~tlsprov.pki.x509.cert_to_pem` remember the
object behind each PEM they return; a provider that signs a certificate itself notes with
:func:`remember_made` by which key, for which key and under which issuer name. The bundle check
of a bundle built a moment ago then takes the objects instead of parsing the PEMs again (for an
RSA key, parsing means a consistency check that costs more than making the key), and knows the
leaf's signature and public key from how it was made instead of decoding and verifying them.

A PEM matches by identity of the ``bytes`` object, which is immutable: a PEM from anywhere else,
even with equal content, is parsed as before. A certificate matches by identity too, and the
certificate object is held meanwhile. Only the last few of each are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

__all__ = ["Provenance", "per_object", "provenance", "recall", "remember", "remember_made"]

T = TypeVar("T")

#: Entries kept: a bundle holds two PEMs made here (key, leaf), checked right away, and a set
#: from ``issue_all`` (Harbor's internal TLS: about ten bundles) is checked after all of it.
#: A table past ``_SIZE`` keeps its newest half, so at least ``_SIZE // 2`` are always kept.
_SIZE = 64
_made: dict[int, tuple[object, object]] = {}
_signers: dict[int, tuple[object, object]] = {}


def _put(table: dict[int, tuple[object, object]], key: object, value: object) -> None:
    table[id(key)] = (key, value)  # the key object is held, so its id is not reused
    _trim(table, _SIZE)


def _trim(table: dict[int, Any], size: int) -> None:
    """Past ``size`` entries, keep the newest half. Rebuilt rather than popped one by one: a
    dict whose oldest entries were deleted scans past them on every ``next(iter())``."""
    if len(table) > size:
        newest = list(table.items())[-(size // 2) :]
        table.clear()
        table.update(newest)


def _get(table: dict[int, tuple[object, object]], key: object) -> object | None:
    found = table.get(id(key))
    return found[1] if found is not None and found[0] is key else None


def per_object(
    table: dict[int, tuple[object, T]], obj: object, compute: Callable[[], T], size: int = 32
) -> T:
    """``compute()`` for ``obj``, kept in ``table`` by identity (the object is held, so its id
    is not reused); past ``size`` entries it keeps the newest half. Cheaper than hashing a
    certificate for ``functools.lru_cache``."""
    found = table.get(id(obj))
    if found is not None and found[0] is obj:
        return found[1]
    value = compute()
    table[id(obj)] = (obj, value)
    _trim(table, size)
    return value


def remember(pem: bytes, obj: object) -> bytes:
    """Note that ``pem`` was just made from ``obj``; return ``pem``."""
    _put(_made, pem, obj)
    return pem


def recall(pem: bytes) -> object | None:
    """The object ``pem`` (this very ``bytes`` object) was made from, else ``None``."""
    return _get(_made, pem)


def remember_made(
    cert: x509.Certificate,
    *,
    signer: bytes,
    issuer: bytes,
    subject_key: PublicKeyTypes,
    extensions: Mapping[type[x509.ExtensionType], x509.ExtensionType] | None = None,
    common_name: str | None = None,
    der: bytes | None = None,
    private_key: object | None = None,
) -> None:
    """Note that ``cert`` was just signed here: by the private half of ``signer`` (DER SPKI),
    naming ``issuer`` (the DER Name written in it), for ``subject_key`` (its public key object).
    When given: exactly the extension values ``extensions`` (by value type) are encoded in it,
    its subject is ``CN=common_name`` and nothing else, ``der`` is its encoding, and
    ``private_key`` is the key object whose public half ``subject_key`` is.
    """
    made = Provenance(signer, issuer, subject_key, extensions, common_name, der, private_key)
    _put(_signers, cert, made)


def provenance(cert: x509.Certificate) -> Provenance | None:
    """How ``cert`` (this very object) was made here, else ``None``."""
    found = _get(_signers, cert)
    return found if isinstance(found, Provenance) else None


@dataclass(slots=True)  # not frozen: one per certificate made, and nobody changes it
class Provenance:
    """How a certificate was made in this process (see :func:`remember_made`)."""

    signer: bytes
    issuer: bytes
    subject_key: PublicKeyTypes
    extensions: Mapping[type[x509.ExtensionType], x509.ExtensionType] | None = None
    common_name: str | None = None
    der: bytes | None = None
    private_key: object | None = field(default=None, repr=False)
