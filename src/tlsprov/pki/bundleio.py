"""Read and write issued bundles as files named the way Harbor's guide names them.

A bundle folder for host ``H`` holds ``H.key`` (0600), ``H.crt`` (leaf then intermediates),
``H.cert`` (the same PEM, the name Docker wants) and ``ca.crt`` (what clients trust).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tlsprov.errors import InputError
from tlsprov.fsops import PRIVATE_DIR, atomic_write, ensure_dir, refuse_symlinks, write_private
from tlsprov.models import IssuedBundle
from tlsprov.pki.x509 import key_matches_cert, load_certs, load_private_key, split_pem

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

__all__ = ["bundle_basename", "bundle_files", "plain_key_hint", "read_bundle", "write_bundle"]


def plain_key_hint(stem: str) -> str:
    """What to do with an encrypted bundle key: servers read keys without a passphrase."""
    return (
        "Harbor and the registry clients read the key without a passphrase, so decrypt it "
        f"first: openssl pkey -in {stem}.key -out {stem}.plain.key, then put that file "
        f"in place of {stem}.key (mode 0600)"
    )


def bundle_basename(name: str) -> str:
    """The file stem for a host: ``*.example.com`` becomes ``_wildcard.example.com``."""
    stem = name.replace("*", "_wildcard")
    if not stem or "/" in stem or stem in {".", ".."}:
        raise InputError(f"'{name}' cannot be used as a file name", hint="pass a host name")
    return stem


def bundle_files(out_dir: Path, name: str) -> dict[str, Path]:
    """The four paths of the bundle for ``name`` in ``out_dir``."""
    stem = bundle_basename(name)
    return {
        "key": out_dir / f"{stem}.key",
        "crt": out_dir / f"{stem}.crt",
        "cert": out_dir / f"{stem}.cert",
        "ca": out_dir / "ca.crt",
    }


def write_bundle(out_dir: Path, name: str, bundle: IssuedBundle) -> dict[str, Path]:
    """Write the bundle for ``name`` into ``out_dir`` (made 0700, it holds a key).

    Returns the paths written, keyed ``key``, ``crt``, ``cert``, ``ca``.
    """
    files = bundle_files(out_dir, name)
    for path in files.values():
        refuse_symlinks(path)
    ensure_dir(out_dir, PRIVATE_DIR)
    write_private(files["key"], bundle.private_key_pem)
    atomic_write(files["crt"], bundle.fullchain_pem)
    atomic_write(files["cert"], bundle.fullchain_pem)
    atomic_write(files["ca"], bundle.ca_pem)
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", hint="check the bundle folder") from None
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror}", hint="check the file's permissions"
        ) from exc


def _find_stem(folder: Path) -> str:
    stems = sorted(p.stem for p in folder.glob("*.key") if (folder / f"{p.stem}.crt").exists())
    if len(stems) != 1:
        found = ", ".join(stems) or "none"
        raise InputError(
            f"{folder} should hold exactly one NAME.key with its NAME.crt (found: {found})",
            hint="pass the folder written by 'tlsprov issue'",
        )
    return stems[0]


def _refuse_order(key: PrivateKeyTypes, certs: list[x509.Certificate], name: str) -> None:
    """Raise when the key's certificate is in ``certs`` but not first (a chain out of order)."""
    for index, cert in enumerate(certs[1:], start=2):
        if key_matches_cert(key, cert):
            raise InputError(
                f"{name} has its certificates in the wrong order: the one for this key is "
                f"certificate {index} of {len(certs)}",
                hint=f"put that leaf first in {name}, then each issuer in turn (leaf, "
                "intermediates; the root goes in ca.crt)",
            )


def read_bundle(folder: Path, name: str | None = None) -> IssuedBundle:
    """Read a bundle folder written by :func:`write_bundle` (or by hand in the same layout).

    Raises:
        InputError: a file is missing or malformed, or the key does not match the leaf.
    """
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"bundle {folder} is a file, not a folder",
            hint=f"pass the folder that holds it ({folder.parent})",
        )
    if not folder.is_dir():
        raise InputError(f"bundle folder {folder} does not exist", hint="run 'tlsprov issue' first")
    stem = bundle_basename(name) if name else _find_stem(folder)
    key_pem = _read(folder / f"{stem}.key")
    chain_data = _read(folder / f"{stem}.crt")
    ca_data = _read(folder / "ca.crt")
    key = load_private_key(
        key_pem, source=str(folder / f"{stem}.key"), encrypted_hint=plain_key_hint(stem)
    )
    certs = load_certs(chain_data, source=str(folder / f"{stem}.crt"))
    load_certs(ca_data, source=str(folder / "ca.crt"))
    if not key_matches_cert(key, certs[0]):
        _refuse_order(key, certs, f"{stem}.crt")
        raise InputError(
            f"{folder / f'{stem}.key'} does not match the certificate in {stem}.crt",
            hint="issue the bundle again or put the matching key beside it",
        )
    blocks = split_pem(chain_data)
    return IssuedBundle(
        private_key_pem=key_pem,
        leaf_pem=blocks[0],
        chain_pem=tuple(blocks[1:]),
        ca_pem=b"".join(split_pem(ca_data)),  # every CA: a rollover trusts two
    )
