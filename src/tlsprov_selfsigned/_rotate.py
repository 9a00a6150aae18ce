"""CA rollover in ``ca_dir``: distribute a new CA, switch signing to it, retire the old one.

Files (beside ``ca.key``/``ca.crt``, whose first certificate matching the key signs):

- ``next.key``/``next.crt``: the new CA while it is being distributed;
- ``previous.key``/``previous.crt``: the old CA after the switch, still trusted;
- ``retired/<time>-<fingerprint>/``: the old CA's key and certificate, kept for a rollback;
- ``rotation.json``: the phase and both fingerprints;
- ``backups/<time>/``: what each step replaced, restored when the step fails.

``ca.crt`` holds the signing CA first, then the other one, in every phase but the last.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError, TlsprovError
from tlsprov.fsops import atomic_write, write_private
from tlsprov.pki.x509 import cert_to_pem, fingerprint, load_cert, now_utc
from tlsprov_selfsigned._ca import build_ca, load_ca

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

    from tlsprov.models import KeyType

__all__ = ["PHASES", "RotationStep", "rotation_status", "run_rotation"]

STATE = "rotation.json"
PHASES = ("none", "distribute", "switched", "retired")
_SUFFIX = re.compile(r" R[0-9a-f]{4}$")
_NEXT_STEP = {
    "distribute": "tlsprov ca rotate --switch, once every client trusts both CAs",
    "switched": "tlsprov ca rotate --retire, once every server certificate is re-issued "
    "(tlsprov provision does it)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationStep:
    """What a step writes (``None`` removes) and the lines of its plan."""

    step: str
    phase: str
    writes: dict[str, bytes | None]
    secrets: frozenset[str]
    plan: tuple[str, ...]
    state: dict[str, Any]


def _read_state(ca_dir: Path) -> dict[str, Any]:
    path = ca_dir / STATE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"phase": "none"}
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path} cannot be read ({exc})", hint="restore it from backups/ in the CA folder"
        ) from exc
    if not isinstance(data, dict) or data.get("phase") not in PHASES:
        raise InputError(f"{path} names no known phase", hint=f"phases: {', '.join(PHASES)}")
    return data


def _key_pem(key: CertificateIssuerPrivateKeyTypes, passphrase: bytes | None) -> bytes:
    from cryptography.hazmat.primitives import serialization

    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def _next_subject(old: x509.Name) -> x509.Name:
    """The old subject with ``R<hex>`` after its CN, so clients never see two CAs of one name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    tag = f" R{secrets.token_hex(2)}"
    attrs = list(old)
    for i, attr in enumerate(attrs):
        if attr.oid == NameOID.COMMON_NAME:
            base = _SUFFIX.sub("", str(attr.value))[: 64 - len(tag)]
            attrs[i] = x509.NameAttribute(NameOID.COMMON_NAME, base + tag)
            return x509.Name(attrs)
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, "tlsprov Root CA" + tag)])


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="the rollover files are incomplete; restore them from backups/ in the CA folder",
        ) from exc


def plan_step(
    ca_dir: Path,
    step: str,
    passphrase: Callable[[], bytes | None],
    *,
    subject: x509.Name | None,
    key_type: KeyType,
    days: int,
) -> RotationStep:
    """Check the phase and compute every file of ``step`` (``distribute``, ``switch``, ``retire``).

    Raises:
        InputError: the step does not follow the current phase, or the CA files are unusable.
    """
    state = _read_state(ca_dir)
    phase = state["phase"]
    wanted = {"distribute": ("none", "retired"), "switch": ("distribute",), "retire": ("switched",)}
    if phase not in wanted[step]:
        hint = _NEXT_STEP.get(phase, "run 'tlsprov ca rotate' to start a rollover")
        raise InputError(f"the CA rollover in {ca_dir} is in phase '{phase}'", hint=f"next: {hint}")
    crt = ca_dir / "ca.crt"
    signing = load_cert(_read(crt), source=str(crt))  # may be close to expiry: not re-validated
    signing_pem = cert_to_pem(signing)
    now = now_utc().isoformat(timespec="seconds")
    if step == "distribute":
        key = ca_dir / "ca.key"
        secret = passphrase() if b"ENCRYPTED" in _read(key) else None
        new = build_ca(subject or _next_subject(signing.subject), key_type, days)
        old_fp, new_fp = fingerprint(signing), fingerprint(new.cert)
        writes: dict[str, bytes | None] = {
            "next.key": _key_pem(new.key, secret),
            "next.crt": new.cert_pem,
            "ca.crt": signing_pem + new.cert_pem,
        }
        state = {"phase": "distribute", "old_sha256": old_fp, "new_sha256": new_fp,
                 "started_at": now}  # fmt: skip
        plan = (
            f"create next.key and next.crt: the new CA {new_fp}",
            f"write ca.crt: the old CA {old_fp} (still signing) and the new one",
        )
        return RotationStep(step=step, phase="distribute", writes=writes,
                            secrets=frozenset({"next.key"}), plan=plan, state=state)  # fmt: skip
    if step == "switch":
        new_cert = load_cert(_read(ca_dir / "next.crt"), source=str(ca_dir / "next.crt"))
        if fingerprint(new_cert) != state.get("new_sha256"):
            raise InputError(f"{ca_dir / 'next.crt'} is not the CA this rollover started with")
        load_ca_pair(ca_dir, "next", passphrase)
        writes = {
            "previous.key": _read(ca_dir / "ca.key"),
            "previous.crt": signing_pem,
            "ca.key": _read(ca_dir / "next.key"),
            "ca.crt": cert_to_pem(new_cert) + signing_pem,
            "next.key": None,
            "next.crt": None,
        }
        plan = (
            f"write ca.key and ca.crt: the new CA {fingerprint(new_cert)} signs from now on",
            f"keep the old CA {fingerprint(signing)} as previous.key/previous.crt, still trusted",
        )
        state = {**state, "phase": "switched", "switched_at": now}
        return RotationStep(step=step, phase="switched", writes=writes,
                            secrets=frozenset({"previous.key", "ca.key"}), plan=plan,
                            state=state)  # fmt: skip
    old = load_cert(_read(ca_dir / "previous.crt"), source=str(ca_dir / "previous.crt"))
    old_fp = fingerprint(old)
    aside = f"retired/{now_utc():%Y%m%dT%H%M%S}-{old_fp.replace(':', '')[:16]}"
    writes = {
        f"{aside}/ca.key": _read(ca_dir / "previous.key"),
        f"{aside}/ca.crt": cert_to_pem(old),
        "ca.crt": signing_pem,
        "previous.key": None,
        "previous.crt": None,
    }
    plan = (
        f"write ca.crt: the new CA {fingerprint(signing)} alone",
        f"move the old CA {old_fp} to {aside}/ (its key is kept for a rollback)",
    )
    state = {**state, "phase": "retired", "retired_at": now, "retired_to": aside}
    return RotationStep(step=step, phase="retired", writes=writes,
                        secrets=frozenset({f"{aside}/ca.key"}), plan=plan,
                        state=state)  # fmt: skip


def load_ca_pair(ca_dir: Path, stem: str, passphrase: Callable[[], bytes | None]) -> None:
    """Check that ``<stem>.key`` matches ``<stem>.crt`` (the files a step is about to use).

    Raises:
        InputError: a missing or mismatched file.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tlsprov-ca-check-") as tmp:
        folder = Path(tmp)
        write_private(folder / "ca.key", _read(ca_dir / f"{stem}.key"))
        atomic_write(folder / "ca.crt", _read(ca_dir / f"{stem}.crt"))
        load_ca(folder, passphrase)


def run_rotation(ca_dir: Path, plan: RotationStep) -> Path:
    """Back up what ``plan`` replaces, apply it, and restore everything if a write fails.

    Returns the backup folder.
    """
    backup = ca_dir / "backups" / f"{now_utc():%Y%m%dT%H%M%S.%fZ}-{plan.step}"
    writes = {**plan.writes, STATE: json.dumps(plan.state, indent=2).encode() + b"\n"}
    saved: dict[str, int | None] = {}
    for name in writes:
        path = ca_dir / name
        if path.exists():
            saved[name] = path.stat().st_mode & 0o777
            write_private(backup / name, path.read_bytes())
        else:
            saved[name] = None
    atomic_write(backup / "manifest.json", json.dumps(saved, indent=2).encode(), dir_mode=0o700)
    done: list[str] = []
    try:
        for name, content in writes.items():
            path = ca_dir / name
            if content is None:
                path.unlink(missing_ok=True)
            elif name in plan.secrets or name.endswith(".key"):
                write_private(path, content)
            else:
                atomic_write(path, content, mode=0o644, dir_mode=0o700)
            done.append(name)
    except BaseException as exc:
        for name in reversed(done):  # only what this step changed
            path, mode = ca_dir / name, saved[name]
            if mode is None:
                path.unlink(missing_ok=True)
            else:
                atomic_write(path, (backup / name).read_bytes(), mode=mode, dir_mode=0o700)
        if isinstance(exc, TlsprovError):
            exc.message += f"; every file of this step was restored (backup: {backup})"
            exc.args = (exc.message, *exc.args[1:])
        raise
    return backup


def rotation_status(ca_dir: Path) -> dict[str, Any]:
    """The phase and the fingerprints of the CAs ``ca.crt`` holds (no key is read)."""
    from tlsprov.pki.x509 import load_certs

    state = _read_state(ca_dir)
    crt = ca_dir / "ca.crt"
    trusted = (
        [fingerprint(c) for c in load_certs(_read(crt), source=str(crt))] if crt.exists() else []
    )
    return {
        **state,
        "trusted_sha256": trusted,
        "next_step": _NEXT_STEP.get(state["phase"]),
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
