"""Provision during a CA rollover: re-issue when the provider's trust bundle or signer changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tlsprov.pki.x509 import fingerprint, load_cert, load_certs, signed_by

if TYPE_CHECKING:
    from tlsprov.lifecycle.config import Config
    from tlsprov.models import IssuedBundle
    from tlsprov.plugins.registry import Registry

__all__ = ["provider_rollover_reason", "rollover_reason"]


def rollover_reason(provider: object, bundle: IssuedBundle) -> str | None:
    """Why ``bundle`` must be re-issued because the provider's CA rolled over, else None.

    A changed set of CAs (a rollover began or the old CA was retired) puts the new bundle into
    every trust store; a different signing CA (the switch) gives Harbor a leaf from the new CA.
    """
    from tlsprov.plugins.rotation import CARotation

    if not isinstance(provider, CARotation):
        return None
    trusted = list(provider.ca_rotation().get("trusted_sha256") or [])
    if not trusted:
        return None
    mine = {fingerprint(c): c for c in load_certs(bundle.ca_pem, source="the stored ca.crt")}
    if set(mine) != set(trusted):
        return "the CA rollover changed the CAs clients must trust"
    if not signed_by(load_cert(bundle.leaf_pem), mine[trusted[0]]):  # another issuer or key
        return "the CA rollover switched signing to the new CA"
    return None


def provider_rollover_reason(
    config: Config, bundle: IssuedBundle, registry: Registry, options: Mapping[str, Any]
) -> str | None:
    """:func:`rollover_reason` for the configured provider (``renew`` asks before it is due).

    ``options`` are the provider options as ``provision`` passes them (paths joined to the
    install root), so the CA looked at is the one that issues.
    """
    from tlsprov.errors import TlsprovError

    try:
        provider = registry.get_provider(config.provider_name, options)
    except TlsprovError:  # provision reports a broken provider itself
        return None
    return rollover_reason(provider.impl, bundle)
