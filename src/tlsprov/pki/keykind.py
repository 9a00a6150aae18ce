"""What kind of key a public key is, in the words messages use ("RSA", "EC P-256")."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TypeGuard

    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

__all__ = ["describe_key", "is_private_key"]


def describe_key(key: PublicKeyTypes) -> tuple[str, int]:
    """Return ``("RSA", 4096)``, ``("EC P-256", 256)``, ``("Ed25519", 256)`` and so on."""
    kind = _KEY_KINDS.get(type(key))
    if kind is None:  # once per key class: the ABC checks cost more than the answer
        kind = _KEY_KINDS[type(key)] = _key_kind(type(key))
    if kind == "EC":
        curve = key.curve  # type: ignore[union-attr]
        return f"EC {_CURVES.get(curve.name, curve.name)}", curve.key_size
    fixed = {"Ed25519": 256, "Ed448": 456}.get(kind)
    return kind, fixed or (key.key_size if kind in ("RSA", "DSA") else 0)  # type: ignore[union-attr]


_KEY_KINDS: dict[type, str] = {}
_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def _key_kind(cls: type) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    kinds = {"RSA": rsa.RSAPublicKey, "EC": ec.EllipticCurvePublicKey, "DSA": dsa.DSAPublicKey}
    kinds |= {"Ed25519": ed25519.Ed25519PublicKey, "Ed448": ed448.Ed448PublicKey}
    return next((name for name, abc in kinds.items() if issubclass(cls, abc)), cls.__name__)


def is_private_key(obj: object) -> TypeGuard[PrivateKeyTypes]:
    """True for an RSA, EC, Ed25519 or Ed448 private key (decided once per class)."""
    found = _PRIVATE.get(type(obj))
    if found is None:
        from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

        kinds = (
            rsa.RSAPrivateKey,
            ec.EllipticCurvePrivateKey,
            ed25519.Ed25519PrivateKey,
            ed448.Ed448PrivateKey,
        )
        found = _PRIVATE[type(obj)] = isinstance(obj, kinds)
    return found


_PRIVATE: dict[type, bool] = {}
