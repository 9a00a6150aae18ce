"""The ACME connection: signed transport with bounded badNonce retries, directory, account.

Imported only by the provider factory (it pulls in ``acme``, ``josepy`` and ``requests``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import josepy
import requests
from acme import client as acme_client
from acme import errors as acme_errors_mod
from acme import messages
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy import jwa, jwk

from tlsprov.errors import ConfigError, InputError
from tlsprov.fsops import PRIVATE_DIR, PRIVATE_FILE, atomic_write, write_private
from tlsprov.pki.x509 import generate_key, key_to_pem, load_private_key
from tlsprov_letsencrypt._errors import acme_errors, describe_problem
from tlsprov_letsencrypt._options import AcmeOptions

__all__ = ["Connection", "connect", "jwk_for", "make_net"]

log = logging.getLogger("tlsprov")

_NONCE_ATTEMPTS = 8
_NETWORK_TIMEOUT = 30
_KEY_FILE = "account.key"
_REGR_FILE = "account.json"


class _Net(acme_client.ClientNetwork):
    """``ClientNetwork`` that retries ``badNonce`` several times and remembers Retry-After."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_retry_after: float | None = None
        self.session.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        header = response.headers.get("Retry-After", "")
        self.last_retry_after = float(header) if header.strip().isdigit() else None

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        for attempt in range(1, _NONCE_ATTEMPTS + 1):
            try:
                return super().post(*args, **kwargs)
            except messages.Error as exc:
                if exc.code != "badNonce" or attempt == _NONCE_ATTEMPTS:
                    raise
                log.debug("the CA rejected a nonce twice; retrying (%d)", attempt)
        raise AssertionError("unreachable")


def _alg(key: Any) -> Any:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return jwa.ES384 if key.curve.key_size == 384 else jwa.ES256
    return jwa.RS256


def jwk_for(key: Any) -> jwk.JWK:
    """The JWK wrapping an EC or RSA private key."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return jwk.JWKEC(key=key)
    if isinstance(key, rsa.RSAPrivateKey):
        return jwk.JWKRSA(key=key)
    raise InputError(
        "ACME needs an EC (P-256/P-384) or RSA key",
        hint="use the certificate's own EC or RSA key, or revoke with the account key",
    )


def make_net(opts: AcmeOptions, key: Any, account: Any = None) -> _Net:
    """A transport signing with ``key`` (JWS algorithm matching it), trusting ``ca_bundle``."""
    from tlsprov import __version__

    verify: bool | str = str(opts.ca_bundle) if opts.ca_bundle else True
    return _Net(
        jwk_for(key),
        account=account,
        alg=_alg(key),
        verify_ssl=cast(bool, verify),
        user_agent=f"tlsprov/{__version__}",
        timeout=min(_NETWORK_TIMEOUT, max(1, int(opts.timeout))),
    )


@dataclass
class Connection:
    """A connected client and what issuance needs from it."""

    client: acme_client.ClientV2
    net: _Net
    jwk: jwk.JWK
    registered: bool = False


def _read_account(folder: Path) -> tuple[Any, messages.RegistrationResource | None] | None:
    key_path = folder / _KEY_FILE
    if not key_path.exists():
        return None
    key = load_private_key(key_path.read_bytes(), source=str(key_path))
    regr_path = folder / _REGR_FILE
    if not regr_path.exists():
        return key, None
    try:
        data = json.loads(regr_path.read_text(encoding="utf-8"))
        return key, messages.RegistrationResource.from_json(data["regr"])
    except (ValueError, KeyError, TypeError, josepy.errors.DeserializationError) as exc:
        raise InputError(
            f"{regr_path} is not a valid ACME registration",
            hint="move the account folder away to register a new account",
        ) from exc


def _save_account(
    folder: Path, key: Any, regr: messages.RegistrationResource, url: str, *, new_key: bool
) -> None:
    """Store the registration; write the key only when it was just made (never replace one)."""
    if new_key:
        write_private(folder / _KEY_FILE, key_to_pem(key))
    data = {"directory": url, "uri": regr.uri, "regr": regr.to_json()}
    atomic_write(
        folder / _REGR_FILE,
        (json.dumps(data, indent=2, sort_keys=True) + "\n").encode(),
        mode=PRIVATE_FILE,
        dir_mode=PRIVATE_DIR,
    )


def _register(conn: Connection, opts: AcmeOptions) -> messages.RegistrationResource:
    client = conn.client
    meta = getattr(client.directory, "meta", None)
    tos = getattr(meta, "terms_of_service", None)
    if tos and not opts.agree_tos:
        raise ConfigError(
            f"the CA's terms of service must be agreed to first: {tos}",
            source="provider.letsencrypt",
            key="agree_tos",
            hint="read them, then pass --agree-tos (or agree_tos = true)",
        )
    eab = None
    if client.external_account_required() and not opts.eab_kid:
        raise ConfigError(
            "this CA requires an external account binding",
            source="provider.letsencrypt",
            key="eab_kid",
            hint="pass --eab-kid and --eab-hmac-key from your CA's account page",
        )
    if opts.eab_kid and opts.eab_hmac_key:
        try:
            eab = messages.ExternalAccountBinding.from_data(
                account_public_key=conn.jwk.public_key(),
                kid=opts.eab_kid,
                hmac_key=opts.eab_hmac_key,
                directory=client.directory,
                hmac_alg=opts.eab_alg,
            )
        except (ValueError, TypeError, josepy.errors.DeserializationError) as exc:
            raise ConfigError(
                "the EAB HMAC key is not base64url text",
                source="provider.letsencrypt",
                key="eab_hmac_key",
                hint="copy the HMAC key exactly as your CA shows it",
            ) from exc
    fields: dict[str, Any] = {"terms_of_service_agreed": True}
    if opts.email:
        fields["email"] = opts.email
    if eab is not None:
        fields["external_account_binding"] = eab
    new = messages.NewRegistration.from_data(**fields)
    try:
        return client.new_account(new)
    except acme_errors_mod.ConflictError as exc:
        # The key is already registered (its registration file was lost): look it up.
        existing = messages.RegistrationResource(uri=exc.location, body=messages.Registration())
        return client.query_registration(existing)
    except messages.Error as exc:
        if opts.eab_kid and exc.code in ("unauthorized", "malformed", "externalAccountRequired"):
            raise ConfigError(
                f"the CA refused the external account binding: {describe_problem(exc)}",
                source="provider.letsencrypt",
                key="eab_hmac_key",
                hint="check eab_kid and eab_hmac_key (and eab_alg) against your CA's account page",
            ) from exc
        raise


def connect(opts: AcmeOptions, *, need_account: bool = True) -> Connection:
    """Fetch the directory and load (or register once and store) the account.

    Raises:
        IssuanceError: the server cannot be reached or refused the account.
        ConfigError: terms of service not agreed, EAB missing or wrong.
    """
    stored = _read_account(opts.account_dir)
    key = stored[0] if stored else generate_key(opts.account_key_type)
    regr = stored[1] if stored else None
    net = make_net(opts, key, account=regr)
    with acme_errors(opts.directory, net=net):
        directory = acme_client.ClientV2.get_directory(opts.directory, net)
        assert net.key is not None
        conn = Connection(acme_client.ClientV2(directory, net), net, net.key)
        if regr is not None or not need_account:
            return conn
        regr = _register(conn, opts)
    _save_account(opts.account_dir, key, regr, opts.directory, new_key=stored is None)
    conn.registered = True
    log.info("registered a new ACME account at %s (stored in %s)", opts.directory, opts.account_dir)
    return conn
