"""Harbor's internal TLS set: which files it holds, and the checks Harbor's prepare does not make.

The set lives in one folder (harbor.yml's ``internal_tls.dir``): the internal CA
``harbor_internal_ca.crt``/``.key`` and one ``<file>.crt``/``<file>.key`` pair per component.
Each component uses its pair both as a server and as a client, so every leaf needs serverAuth
and clientAuth, and its CN and DNS SAN are the component's service name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tlsprov.errors import InputError
from tlsprov.pki.x509 import (
    key_matches_cert,
    load_cert,
    load_private_key,
    now_utc,
    san_identities,
    signed_by,
)

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "CA_FILE",
    "COMPONENTS",
    "Component",
    "LeafState",
    "check_set",
    "components_for",
    "describe_set",
]

CA_FILE = "harbor_internal_ca"


@dataclass(frozen=True, slots=True)
class Component:
    """One Harbor component: its file name stem in the set and its service (CN, DNS SAN)."""

    file: str
    service: str
    trivy_only: bool = False
    internal_db_only: bool = False


COMPONENTS: tuple[Component, ...] = (
    Component("proxy", "proxy"),
    Component("portal", "portal"),
    Component("core", "core"),
    Component("job_service", "jobservice"),
    Component("registry", "registry"),
    Component("registryctl", "registryctl"),
    Component("trivy_adapter", "trivy-adapter", trivy_only=True),
    Component("harbor_db", "harbor_db", internal_db_only=True),
)


def components_for(*, trivy: bool, external_database: bool) -> tuple[Component, ...]:
    """The components Harbor's prepare requires for this installation."""
    return tuple(
        c
        for c in COMPONENTS
        if (trivy or not c.trivy_only) and not (external_database and c.internal_db_only)
    )


@dataclass(frozen=True, slots=True)
class LeafState:
    """One certificate of the set as ``status`` shows it."""

    file: str
    not_after: dt.datetime
    serial: int

    def days_left(self, now: dt.datetime) -> float:
        """Days until ``not_after`` (negative when expired)."""
        return (self.not_after - now).total_seconds() / 86400


def _eku_problems(cert: x509.Certificate, name: str) -> list[str]:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        eku = list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return []  # no EKU means any purpose, as Harbor's own gencert makes them
    missing = [
        label
        for label, oid in (
            ("serverAuth", ExtendedKeyUsageOID.SERVER_AUTH),
            ("clientAuth", ExtendedKeyUsageOID.CLIENT_AUTH),
        )
        if oid not in eku
    ]
    return [f"{name}.crt lacks {' and '.join(missing)}"] if missing else []


def _leaf_problems(
    files: Mapping[str, bytes],
    component: Component,
    ca: x509.Certificate,
    now: dt.datetime,
    renew_within: dt.timedelta,
) -> list[str]:
    from cryptography.x509.oid import NameOID

    name = component.file
    crt, key = files.get(f"{name}.crt"), files.get(f"{name}.key")
    missing = [f"{name}.{ext}" for ext, data in (("crt", crt), ("key", key)) if data is None]
    if missing:
        return [f"{' and '.join(missing)} missing"]
    assert crt is not None and key is not None
    try:
        cert = load_cert(crt, source=f"{name}.crt")
        private = load_private_key(key, source=f"{name}.key")
    except InputError as exc:
        return [exc.message]
    problems = []
    if not key_matches_cert(private, cert):
        problems.append(f"{name}.key does not match {name}.crt")
    cns = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    dns, _ = san_identities(cert)
    if cns != [component.service] or component.service not in dns:
        problems.append(
            f"{name}.crt is for CN {cns or '-'} / SAN {dns or '-'}, not '{component.service}'"
        )
    problems += _eku_problems(cert, name)
    if cert.issuer != ca.subject or not signed_by(cert, ca):
        problems.append(f"{name}.crt is not signed by {CA_FILE}.crt")
    if cert.not_valid_after_utc <= now:
        problems.append(f"{name}.crt expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    elif cert.not_valid_after_utc - now <= renew_within:
        problems.append(f"{name}.crt expires on {cert.not_valid_after_utc:%Y-%m-%d}, soon")
    return problems


def check_set(
    files: Mapping[str, bytes],
    components: Sequence[Component],
    *,
    now: dt.datetime | None = None,
    renew_within: dt.timedelta = dt.timedelta(0),
) -> list[str]:
    """Every problem of the set ``files`` (file name → bytes); empty when Harbor can use it.

    Checked for each component: both files present, the key matches the certificate, CN and
    DNS SAN are the service name, serverAuth and clientAuth (when an EKU is present), signed
    by the internal CA, and not expiring within ``renew_within``.
    """
    moment = now or now_utc()
    ca_pem = files.get(f"{CA_FILE}.crt")
    if ca_pem is None:
        return [f"{CA_FILE}.crt missing"]
    try:
        ca = load_cert(ca_pem, source=f"{CA_FILE}.crt")
    except InputError as exc:
        return [exc.message]
    problems = []
    if ca.not_valid_after_utc <= moment:
        problems.append(f"{CA_FILE}.crt expired on {ca.not_valid_after_utc:%Y-%m-%d}")
    for component in components:
        problems += _leaf_problems(files, component, ca, moment, renew_within)
    return problems


def describe_set(
    files: Mapping[str, bytes], components: Sequence[Component]
) -> tuple[LeafState | None, list[LeafState]]:
    """The CA's and each present leaf's expiry and serial (unreadable files are left out)."""

    def state(name: str) -> LeafState | None:
        data = files.get(f"{name}.crt")
        if data is None:
            return None
        try:
            cert = load_cert(data, source=f"{name}.crt")
        except InputError:
            return None
        return LeafState(file=name, not_after=cert.not_valid_after_utc, serial=cert.serial_number)

    leaves = [s for c in components if (s := state(c.file)) is not None]
    return state(CA_FILE), leaves
