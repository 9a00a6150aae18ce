"""The ``letsencrypt`` provider: issue, renewal information (ARI) and revocation over ACME."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, final

from tlsprov.errors import InputError, IssuanceError, NotSupported
from tlsprov.models import CertificateRequest, IssuedBundle, KeyType, Usage
from tlsprov.pki.x509 import generate_key, key_to_pem, load_certs, load_private_key, split_pem
from tlsprov.runner import CommandRunner
from tlsprov_letsencrypt._options import AcmeOptions

__all__ = ["REVOCATION_REASONS", "LetsEncryptProvider", "make_provider"]

log = logging.getLogger("tlsprov")

#: RFC 5280 reason codes an ACME CA accepts, by name.
REVOCATION_REASONS = {
    "unspecified": 0,
    "keyCompromise": 1,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
}


def _check_request(request: CertificateRequest, opts: AcmeOptions) -> KeyType:
    if request.usage is not Usage.SERVER:
        raise NotSupported(
            "ACME CAs such as Let's Encrypt no longer issue client (clientAuth) certificates",
            hint="issue client certificates with --provider selfsigned",
        )
    key_type = request.key_type or opts.key_type
    if key_type is KeyType.ED25519:
        raise InputError(
            "ACME CAs do not issue certificates for Ed25519 keys",
            hint="use --key-type ec256 (default), ec384 or rsa2048..rsa4096",
        )
    wildcards = [n for n in request.dns_names if n.startswith("*.")]
    if wildcards and opts.challenge != "dns-01":
        raise InputError(
            f"wildcard names ({', '.join(wildcards)}) can only be validated with dns-01",
            hint="pass --challenge dns-01 with --dns-hook or --rfc2136-server",
        )
    if request.ip_addresses and opts.challenge == "dns-01":
        raise InputError(
            "IP addresses cannot be validated with dns-01",
            hint="use --challenge http-01 for IP addresses",
        )
    if request.validity_days is not None:
        log.info(
            "the CA sets the validity; the requested %d days are ignored", request.validity_days
        )
    return key_type


def _pick_chain(chains: list[str], preferred: str | None) -> str:
    if not preferred or len(chains) == 1:
        return chains[0]
    from cryptography.x509.oid import NameOID

    for pem in chains:
        certs = load_certs(pem.encode(), source="the served chain")
        top = certs[-1]
        names = [a.value for a in top.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)]
        names += [
            a.value
            for c in certs[1:]
            for a in c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ]
        if preferred in names:
            return pem
    log.info("no served chain matches the preferred chain %r; using the default", preferred)
    return chains[0]


@final
class LetsEncryptProvider:
    """Certificates from an ACME CA (Let's Encrypt, its staging, Pebble, step-ca, ...).

    Attributes:
        options: the parsed options.
        account_registered: after a call, whether it registered a new ACME account.
        ca_source: after :meth:`issue`, where ``ca.crt`` came from (``root_ca FILE`` or
            ``served chain``).
    """

    def __init__(self, options: AcmeOptions, runner: CommandRunner | None = None) -> None:
        self.options = options
        self.runner = runner or CommandRunner()
        self.account_registered = False
        self.ca_source: str | None = None

    def __repr__(self) -> str:
        o = self.options
        return (
            f"LetsEncryptProvider(directory={o.directory!r}, challenge={o.challenge!r}, "
            f"account_dir={str(o.account_dir)!r})"
        )

    def _ca_pem(self, chain: list[bytes]) -> bytes:
        root_ca = self.options.root_ca
        if root_ca is None:
            if not chain:
                raise IssuanceError("the CA served no intermediate certificate")
            self.ca_source = "served chain"
            log.info("ca.crt is the last certificate of the chain the CA served")
            return chain[-1]
        root = load_certs(root_ca.read_bytes(), source=str(root_ca))[0]
        top = load_certs(chain[-1] if chain else b"", source="the served chain")[-1]
        try:
            if top != root:
                top.verify_directly_issued_by(root)
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"{root_ca} did not issue the chain the CA served "
                f"(top: {top.issuer.rfc4514_string()})",
                hint="pass the root this CA's chain ends in, or leave root_ca unset",
            ) from exc
        self.ca_source = f"root_ca {root_ca}"
        log.info("ca.crt is the root given in %s", root_ca)
        from tlsprov.pki.x509 import cert_to_pem

        return cert_to_pem(root)

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        """Order, validate and download a certificate; write only the ACME account.

        Raises:
            NotSupported: a client certificate was asked for.
            InputError: a wildcard without dns-01, an Ed25519 key, an unusable root_ca.
            ConfigError: terms of service not agreed, EAB missing or refused.
            ChallengeFailed: the CA could not validate a name (the message names it).
            RateLimited: the CA asks to wait (``retry_after``).
            IssuanceError: the CA is unreachable, refused the order, or the deadline passed.
        """
        from acme import crypto_util

        from tlsprov_letsencrypt._challenges import make_publisher
        from tlsprov_letsencrypt._client import connect
        from tlsprov_letsencrypt._errors import acme_errors
        from tlsprov_letsencrypt._order import (
            Deadline,
            answer_challenges,
            finalize,
            status_name,
            wait_authorizations,
        )

        o = self.options
        self.account_registered = False
        self.ca_source = None
        key_type = _check_request(request, o)
        names = ", ".join(request.identities)
        dl = Deadline(o.timeout)
        conn = connect(o)
        self.account_registered = conn.registered
        key_pem = key_to_pem(generate_key(key_type))
        csr = crypto_util.make_csr(
            key_pem, domains=list(request.dns_names), ipaddrs=list(request.ip_addresses)
        )
        publisher = make_publisher(o, self.runner)
        with acme_errors(o.directory, request.identities, conn.net):
            publisher.open()
            try:
                log.info("ordering a certificate for %s from %s", names, o.directory)
                order = conn.client.new_order(csr, profile=o.profile)
                todo = [a for a in order.authorizations if status_name(a.body.status) != "valid"]
                reused = len(order.authorizations) - len(todo)
                if reused:
                    log.info("reusing %d valid authorization(s)", reused)
                if todo:
                    answer_challenges(conn, todo, o.challenge, publisher)
                    wait_authorizations(conn, todo, o.challenge, dl)
            finally:
                publisher.close()
            chains = finalize(conn, order, names, dl, alternates=bool(o.preferred_chain))
        blocks = split_pem(_pick_chain(chains, o.preferred_chain).encode())
        if not blocks:
            raise IssuanceError(f"the CA returned no certificate for {names}")
        chain = blocks[1:]
        return IssuedBundle(
            private_key_pem=key_pem,
            leaf_pem=blocks[0],
            chain_pem=tuple(chain),
            ca_pem=self._ca_pem(chain),
        )

    def renewal_info(self, cert_pem: bytes) -> dt.datetime | None:
        """When the CA suggests renewing ``cert_pem`` (ARI), or ``None`` if it offers no ARI.

        Raises:
            IssuanceError: the server cannot be reached or the ARI request failed.
        """
        from acme import errors as acme_errors_mod

        from tlsprov_letsencrypt._client import connect
        from tlsprov_letsencrypt._errors import acme_errors

        conn = connect(self.options, need_account=False)
        with acme_errors(self.options.directory, net=conn.net):
            try:
                when, _next = conn.client.renewal_time(cert_pem)
            except acme_errors_mod.ARIError as exc:
                raise IssuanceError(
                    f"could not read renewal information from {self.options.directory}",
                    hint="try again later; the renew-before window still applies",
                ) from exc
        return when

    def revoke(
        self, cert_pem: bytes, reason: str = "unspecified", key_pem: bytes | None = None
    ) -> None:
        """Revoke ``cert_pem`` with the account key, or with the certificate's own key.

        Args:
            cert_pem: the certificate (the first PEM block is used).
            reason: a name from :data:`REVOCATION_REASONS`.
            key_pem: the certificate's private key; without it the stored account signs.

        Raises:
            InputError: unknown reason, or a key that does not match the certificate.
            IssuanceError: the CA refused (e.g. already revoked, not this account's).
        """
        from tlsprov.pki.x509 import key_matches_cert
        from tlsprov_letsencrypt._client import make_net
        from tlsprov_letsencrypt._errors import acme_errors

        if reason not in REVOCATION_REASONS:
            raise InputError(
                f"unknown revocation reason {reason!r}",
                hint=f"choose one of: {', '.join(REVOCATION_REASONS)}",
            )
        cert = load_certs(cert_pem, source="the certificate to revoke")[0]
        if key_pem is not None:
            key = load_private_key(key_pem, source="the certificate's key")
            if not key_matches_cert(key, cert):
                raise InputError("the key does not match the certificate to revoke")
            from acme import client as acme_client

            net = make_net(self.options, key)
            with acme_errors(self.options.directory, net=net):
                directory = acme_client.ClientV2.get_directory(self.options.directory, net)
                client: Any = acme_client.ClientV2(directory, net)
                client.revoke(cert, REVOCATION_REASONS[reason])
        else:
            from tlsprov_letsencrypt._client import connect

            conn = connect(self.options)
            self.account_registered = conn.registered
            with acme_errors(self.options.directory, net=conn.net):
                conn.client.revoke(cert, REVOCATION_REASONS[reason])
        log.info("revoked the certificate with serial %x (%s)", cert.serial_number, reason)


def make_provider(options: dict[str, Any]) -> LetsEncryptProvider:
    """The ``letsencrypt`` factory: parse ``options`` and build the provider."""
    return LetsEncryptProvider(AcmeOptions.parse(options))
