"""Plain helpers for the security suite (loaded by conftest.py as ``tlsprov_security_helpers``)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 60.0
HOST = "harbor.test"
PORT = 8443
CA_PASSPHRASE = "correct horse battery staple 7Qx"
UMASKS = (0o000, 0o022, 0o077)


def run_cli(
    args: Iterable[str],
    env: dict[str, str],
    *,
    umask: int | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m tlsprov ARGS`` in a child whose umask is set before it starts."""
    preexec = None if umask is None else (lambda: os.umask(umask))
    return subprocess.run(
        [sys.executable, "-m", "tlsprov", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=CLI_TIMEOUT,
        cwd=str(cwd or REPO),
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec,
    )


def acme_args(server: Any, account_dir: Path) -> list[str]:
    """CLI flags for issuing from ``server`` (a Pebble) over http-01 on loopback."""
    return [
        "--provider", "letsencrypt", "--directory", server.directory,
        "--ca-bundle", str(server.listener.ca), "--agree-tos",
        "--account-dir", str(account_dir), "--http-address", "127.0.0.1",
        "--http-port", str(server.http_port), "--key-type", "ec256",
    ]  # fmt: skip


PEM_KEY = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----\r?\n(.*?)-----END \1-----", re.S
)


def key_files(top: Path, *, exclude: tuple[Path, ...] = ()) -> list[Path]:
    """Every regular file below ``top`` holding a PEM private key (symlinks are not followed)."""
    found = []
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in exclude]
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            if PEM_KEY.search(path.read_bytes()):
                found.append(path)
    return sorted(found)


def _private_bytes(der: bytes) -> bytes | None:
    """The secret part of an unencrypted PKCS#8/PKCS#1/SEC1 key (scalar, exponent or seed)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    key = serialization.load_der_private_key(der, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        value = key.private_numbers().private_value
        return value.to_bytes((key.curve.key_size + 7) // 8, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        d = key.private_numbers().d
        return d.to_bytes((d.bit_length() + 7) // 8, "big")
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.private_bytes_raw()
    return None


def key_fingerprints(data: bytes) -> list[str]:
    """Distinctive 40-character pieces of the base64 body of every PEM private key in ``data``.

    Pieces are taken only where the body encodes secret bytes (the private scalar, exponent or
    seed), never the embedded public key, which certificates and CSRs legitimately show. For
    an encrypted key every piece of the body is ciphertext.
    """
    import base64

    pieces: list[str] = []
    for match in PEM_KEY.finditer(data):
        lines = [ln.strip() for ln in match.group(2).decode().splitlines()]
        body = "".join(ln for ln in lines if ln and ":" not in ln)  # skip Proc-Type headers
        der = base64.b64decode(body)
        encrypted = b"ENCRYPTED" in match.group(1) or b"DEK-Info" in match.group(2)
        secret = None if encrypted else _private_bytes(der)
        if secret is None:
            starts = [len(body) // 4 // 4 * 4, len(body) // 2 // 4 * 4]
        else:
            offset = der.find(secret)
            assert offset >= 0
            first = -(-offset // 3) * 3  # the first byte that starts a base64 group
            starts = [b // 3 * 4 for b in range(first, offset + len(secret) - 30 + 1, 3)][:4]
        pieces += [body[c : c + 40] for c in starts if len(body[c : c + 40]) == 40]
        assert pieces, "no private piece found"
    return sorted(set(pieces))


def flatten(text: str) -> str:
    """``text`` without line breaks (also JSON-escaped ones), so a wrapped PEM body matches."""
    return text.replace("\\n", "").replace("\n", "").replace("\r", "")


def mode(path: Path) -> int:
    """The permission bits of ``path`` (not following a symlink)."""
    return stat.S_IMODE(path.lstat().st_mode)
