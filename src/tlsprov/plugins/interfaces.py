"""The two small protocols plugins implement: :class:`Provider` and :class:`Target`.

Plugins may implement them with any class; the registry checks them with ``isinstance``.
Plugin modules must import cheaply: do heavy imports inside the factory or the methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tlsprov.models import CertificateRequest, InstallContext, IssuedBundle, Plan

__all__ = ["CAManager", "Provider", "Target"]


@runtime_checkable
class Provider(Protocol):
    """Issues certificates: a private CA, an ACME CA, a vault, ...

    A provider may also offer ``preflight() -> None``: ``provision`` and ``renew`` call it
    before they take the lock or write anything, so it should raise ``ConfigError`` for what
    can be known wrong up front (an unset secret variable, a missing file).
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

    def init_ca(self, *, force: bool = False) -> dict[str, str]:
        """Create the CA; return a few facts about it (paths, subject, fingerprint).

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
