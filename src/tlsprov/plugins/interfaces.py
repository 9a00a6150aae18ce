"""The small protocols plugins implement: :class:`Provider`, :class:`Target` and the optional
:class:`CAManager`, with the :class:`CAInfo` record ``init_ca`` returns.

Plugins may implement them with any class; the registry checks them with ``isinstance``.
Plugin modules must import cheaply: do heavy imports inside the factory or the methods.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tlsprov.models import CertificateRequest, InstallContext, IssuedBundle, Plan

__all__ = ["CAInfo", "CAManager", "Provider", "Target"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CAInfo:
    """What ``init_ca`` created.

    Attributes:
        ca_key: the CA's private key file.
        ca_crt: the CA certificate file (what clients must trust).
        subject: the CA's subject in ``openssl -subj`` form (``/O=Example/CN=Example Root CA``).
        fingerprint_sha256: SHA-256 of the certificate, colon-separated upper-case hex.
        not_after: when the CA certificate expires (timezone-aware, UTC).
    """

    ca_key: Path
    ca_crt: Path
    subject: str
    fingerprint_sha256: str
    not_after: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """The record with paths and the date as strings."""
        return {
            "ca_key": str(self.ca_key),
            "ca_crt": str(self.ca_crt),
            "subject": self.subject,
            "fingerprint_sha256": self.fingerprint_sha256,
            "not_after": self.not_after.isoformat(),
        }


@runtime_checkable
class Provider(Protocol):
    """Issues certificates: a private CA, an ACME CA, a vault, ...

    A provider may also offer ``preflight() -> None``: ``provision`` and ``renew`` call it
    before they take the lock or write anything, so it should raise ``ConfigError`` for what
    can be known wrong up front (an unset secret variable, a missing file). It may offer
    ``issue_all(requests) -> list[IssuedBundle]`` too, one bundle per request in order, for
    sets it can issue faster together; the host falls back to one ``issue`` per request.
    """

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        """Issue a certificate for ``request``.

        Raises:
            InputError: the request cannot be served as given (bad names, key type, ...).
            NotSupported: the provider cannot issue this kind of certificate.
            IssuanceError: the CA refused or failed.
        """
        ...


@runtime_checkable
class CAManager(Protocol):
    """Optional provider capability: a CA the provider creates and keeps (``tlsprov ca init``)."""

    def init_ca(self, *, force: bool = False) -> CAInfo:
        """Create the CA; return its paths, subject, SHA-256 fingerprint and expiry.

        Raises:
            InputError: a CA already exists and ``force`` is false, or the options are invalid.
        """
        ...


@runtime_checkable
class Target(Protocol):
    """Puts an issued bundle somewhere: Harbor, Docker's certs.d, the OS trust store, ..."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Describe every file write and command needed, without changing anything.

        The installer applies the plan: it backs up replaced files, writes atomically, runs the
        commands, and rolls everything back on failure.

        Raises:
            InputError: something on the host is unusable (bad harbor.yml, unknown OS, ...).
        """
        ...
