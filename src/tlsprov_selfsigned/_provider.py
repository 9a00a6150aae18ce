"""The ``selfsigned`` provider: its options and the provider class."""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, final

from tlsprov.errors import ConfigError, InputError
from tlsprov.models import CertificateRequest, IssuedBundle, KeyType
from tlsprov.pki.x509 import cert_to_pem, fingerprint, key_to_pem
from tlsprov.plugins.interfaces import CAInfo
from tlsprov_selfsigned._ca import (
    CertificateAuthority,
    build_ca,
    ca_files,
    ca_lock,
    load_ca,
    write_ca,
)
from tlsprov_selfsigned._issue import build_leaf
from tlsprov_selfsigned._subject import format_subject, parse_subject

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

__all__ = ["Secret", "SelfSignedOptions", "SelfSignedProvider", "make_provider"]

log = logging.getLogger("tlsprov")

_SOURCE = "provider.selfsigned"
#: Longest validity accepted (100 years), the bound of ``--days`` too.
MAX_DAYS = 36525
_ALLOWED = ("ca_dir", "subject", "key_type", "days", "ca_passphrase", "create_ca", "force")
#: Seconds a loaded CA is used without looking at its files again: a bulk run does not stat
#: them for every leaf, and a CA another process replaces is picked up within this time.
CA_RECHECK_SECONDS = 1.0


@final
class Secret:
    """A passphrase given as text, ``{"env": "VAR"}`` or ``{"file": "path"}``, read on demand.

    A passphrase file is read like openssl's ``-passin file:``: its first line is the passphrase.

    Neither ``repr`` nor ``str`` shows the value.
    """

    __slots__ = ("_kind", "_ref")

    def __init__(self, spec: object) -> None:
        if isinstance(spec, str):
            if not spec:
                raise _config("ca_passphrase", "the passphrase is empty")
            self._kind, self._ref = "value", spec
            return
        if isinstance(spec, Mapping) and len(spec) == 1:
            ((kind, ref),) = spec.items()
            if kind in ("env", "file") and isinstance(ref, str | os.PathLike) and str(ref):
                self._kind, self._ref = kind, str(ref)
                return
        raise _config(
            "ca_passphrase",
            'must be a string, {env = "NAME"} or {file = "/path"}',
        )

    def __repr__(self) -> str:
        if self._kind == "value":
            return "Secret(***)"
        return f"Secret({self._kind}={self._ref!r})"

    __str__ = __repr__

    def reveal(self) -> bytes:
        """Return the passphrase bytes.

        Raises:
            ConfigError: the variable is unset or empty, or the file cannot be read or is empty.
        """
        if self._kind == "value":
            value = self._ref
        elif self._kind == "env":
            value = os.environ.get(self._ref, "")
            if not value:
                raise _config(
                    "ca_passphrase",
                    f"the environment variable {self._ref} is not set or empty",
                    hint=f"export {self._ref} with the CA key's passphrase",
                )
        else:
            try:
                lines = Path(self._ref).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise _config(
                    "ca_passphrase",
                    f"cannot read the passphrase file {self._ref} ({type(exc).__name__})",
                    hint="check the path and its permissions",
                ) from exc
            value = lines[0] if lines else ""
            if not value:
                raise _config("ca_passphrase", f"the passphrase file {self._ref} is empty")
        return value.encode("utf-8")


def _config(key: str, message: str, *, hint: str | None = None) -> ConfigError:
    return ConfigError(message, source=_SOURCE, key=key, hint=hint)


def _bool(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise _config(key, f"must be true or false, got {value!r}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfSignedOptions:
    """The provider's parsed options (see :func:`SelfSignedOptions.parse`)."""

    ca_dir: Path
    subject: x509.Name | None = None
    key_type: KeyType = KeyType.RSA4096
    days: int = 3650
    ca_passphrase: Secret | None = field(default=None, repr=False)
    create_ca: bool = True
    force: bool = False

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> SelfSignedOptions:
        """Validate a raw options mapping (config table or CLI options).

        Raises:
            ConfigError: an unknown key, a missing ``ca_dir`` or a value of the wrong kind.
        """
        unknown = sorted(str(k) for k in options if k not in _ALLOWED)
        if unknown:
            raise _config(
                unknown[0],
                f"unknown option(s) {', '.join(unknown)}",
                hint=f"allowed options: {', '.join(_ALLOWED)}",
            )
        ca_dir = options.get("ca_dir")
        if ca_dir is None or ca_dir == "":
            raise _config("ca_dir", "is required", hint="set ca_dir to the folder for the CA")
        if not isinstance(ca_dir, str | os.PathLike):
            raise _config("ca_dir", f"must be a path, got {type(ca_dir).__name__}")
        subject = options.get("subject")
        name = None
        if subject is not None:
            try:
                name = parse_subject(subject)
            except InputError as exc:
                raise _config("subject", exc.message, hint=exc.hint) from exc
        raw_kt = options.get("key_type", KeyType.RSA4096)
        try:
            key_type = raw_kt if isinstance(raw_kt, KeyType) else KeyType.parse(str(raw_kt))
        except InputError as exc:
            raise _config("key_type", exc.message) from exc
        days = options.get("days", 3650)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise _config("days", f"must be a whole number of days >= 1, got {days!r}")
        if days > MAX_DAYS:
            raise _config("days", f"must be at most {MAX_DAYS} (100 years), got {days}")
        raw_secret = options.get("ca_passphrase")
        return cls(
            ca_dir=Path(ca_dir),
            subject=name,
            key_type=key_type,
            days=days,
            ca_passphrase=None if raw_secret is None else Secret(raw_secret),
            create_ca=_bool(options, "create_ca", True),
            force=_bool(options, "force", False),
        )


def _default_subject() -> x509.Name:
    return parse_subject(f"/O=tlsprov/CN=tlsprov Root CA {secrets.token_hex(4)}")


@final
class SelfSignedProvider:
    """A private CA in ``ca_dir`` that issues server and client certificates.

    Attributes:
        options: the parsed options.
        ca_created: after :meth:`issue` or :meth:`init_ca`, whether that call created the CA.
    """

    def __init__(self, options: SelfSignedOptions) -> None:
        self.options = options
        self.ca_created = False
        self._cached: tuple[tuple[tuple[int, int, int], ...], CertificateAuthority] | None = None
        self._checked_until = 0.0  # time.monotonic() up to which _cached needs no stat
        self._files = ca_files(options.ca_dir)

    def __repr__(self) -> str:
        o = self.options
        passphrase = "set" if o.ca_passphrase is not None else "none"
        return (
            f"SelfSignedProvider(ca_dir={str(o.ca_dir)!r}, key_type={o.key_type.value!r}, "
            f"days={o.days}, ca_passphrase={passphrase})"
        )

    def _passphrase(self) -> bytes | None:
        return None if self.options.ca_passphrase is None else self.options.ca_passphrase.reveal()

    def _need_passphrase(self) -> bytes:
        passphrase = self._passphrase()
        if passphrase is None:
            raise InputError(
                f"{self.options.ca_dir / 'ca.key'} is encrypted and no passphrase was given",
                hint='set ca_passphrase (a string, {env = "NAME"} or {file = "/path"})',
            )
        return passphrase

    def _create(self, passphrase: bytes | None) -> CertificateAuthority:
        """Build and write a CA; the caller holds :func:`ca_lock` and resolved the passphrase."""
        o = self.options
        ca = build_ca(o.subject or _default_subject(), o.key_type, o.days)
        write_ca(o.ca_dir, ca, passphrase)
        self._cached = None  # the files changed under the cache: load them again
        log.info("created a new CA in %s", o.ca_dir)
        self.ca_created = True
        return ca

    def _ca(self) -> CertificateAuthority:
        if self._cached is not None and time.monotonic() < self._checked_until:
            return self._cached[1]
        key_path, crt_path = self._files
        try:
            stamp = self._stamp()
        except FileNotFoundError:
            pass
        else:
            return self._load(stamp)
        if not self.options.create_ca and not (key_path.exists() or crt_path.exists()):
            raise InputError(
                f"there is no CA in {self.options.ca_dir}",
                hint="create one with 'tlsprov ca init' or set create_ca = true",
            )
        passphrase = self._passphrase()  # resolve (and fail) before anything is written
        with ca_lock(self.options.ca_dir):  # another run may be creating it right now
            has_key, has_crt = key_path.exists(), crt_path.exists()
            if has_key and has_crt:
                return self._load()
            if has_key or has_crt:
                present, missing = (key_path, crt_path) if has_key else (crt_path, key_path)
                raise InputError(
                    f"{present} exists but {missing} does not",
                    hint=f"restore {missing.name}, or replace the CA with "
                    "'tlsprov ca init --force'",
                )
            return self._create(passphrase)

    def _stamp(self) -> tuple[tuple[int, int, int], ...]:
        """What identifies the CA files on disk (two stat calls, no other I/O)."""
        return tuple((st.st_mtime_ns, st.st_size, st.st_ino) for st in
                     (os.stat(self._files[0]), os.stat(self._files[1])))  # fmt: skip

    def _load(self, stamp: tuple[tuple[int, int, int], ...] | None = None) -> CertificateAuthority:
        """The CA on disk; bulk issuance reuses it while its files are unchanged (looked at
        again after :data:`CA_RECHECK_SECONDS`)."""
        stamp = stamp or self._stamp()
        if self._cached is None or self._cached[0] != stamp:
            self._cached = (stamp, load_ca(self.options.ca_dir, self._need_passphrase))
        self._checked_until = time.monotonic() + CA_RECHECK_SECONDS
        return self._cached[1]

    def preflight(self) -> None:
        """Resolve the passphrase now (``provision`` calls this before its lock).

        Raises:
            ConfigError: the passphrase variable is unset or its file unreadable.
        """
        self._passphrase()

    def issue(self, request: CertificateRequest) -> IssuedBundle:
        """Issue a certificate for ``request``, creating the CA first if allowed and missing.

        Raises:
            InputError: the CA is unusable (see :func:`load_ca`), or only half of it exists.
        """
        self.ca_created = False
        ca = self._ca()
        return self._bundle(ca, request, request.key_type or self.options.key_type, None)

    def issue_all(self, requests: Sequence[CertificateRequest]) -> list[IssuedBundle]:
        """One bundle per request, in order, from one CA; RSA keys generated side by side.

        Raises:
            InputError: as :meth:`issue`.
        """
        from tlsprov.pki.keygen import generate_keys

        self.ca_created = False
        ca = self._ca()
        kinds = [request.key_type or self.options.key_type for request in requests]
        keys = generate_keys(kinds)
        return [
            self._bundle(ca, request, key_type, key)
            for request, key_type, key in zip(requests, kinds, keys, strict=True)
        ]

    def _bundle(
        self,
        ca: CertificateAuthority,
        request: CertificateRequest,
        key_type: KeyType,
        key: CertificateIssuerPrivateKeyTypes | None,
    ) -> IssuedBundle:
        days = request.validity_days or self.options.days
        leaf_key, cert = build_leaf(ca, request, key_type, days, key)
        return IssuedBundle(
            private_key_pem=key_to_pem(leaf_key),
            leaf_pem=cert_to_pem(cert),
            chain_pem=(),
            ca_pem=ca.trust_pem,
        )

    def init_ca(self, *, force: bool = False) -> CAInfo:
        """Create the CA in ``ca_dir``; return its paths, subject, fingerprint and expiry.

        Raises:
            InputError: ``ca.key`` or ``ca.crt`` already exists and neither ``force`` nor the
                ``force`` option is set.
        """
        self.ca_created = False
        key_path, crt_path = ca_files(self.options.ca_dir)
        passphrase = self._passphrase()  # resolve (and fail) before anything is written
        with ca_lock(self.options.ca_dir):  # two runs at once: the second finds the first's CA
            if (key_path.exists() or crt_path.exists()) and not (force or self.options.force):
                raise InputError(
                    f"a CA already exists in {self.options.ca_dir}",
                    hint="pass --force to replace it",
                )
            ca = self._create(passphrase)
        return CAInfo(
            ca_key=key_path,
            ca_crt=crt_path,
            subject=format_subject(ca.cert.subject),
            fingerprint_sha256=fingerprint(ca.cert),
            not_after=ca.cert.not_valid_after_utc,
        )

    def rotate_ca(self, step: str, *, dry_run: bool = False) -> dict[str, Any]:
        """One CA rollover step: ``distribute``, ``switch`` or ``retire`` (see ``_rotate``).

        Raises:
            InputError: the step does not follow the current phase, or the CA is unusable.
        """
        from tlsprov_selfsigned._rotate import plan_step, run_rotation

        o = self.options
        plan = plan_step(
            o.ca_dir, step, self._need_passphrase, subject=o.subject, key_type=o.key_type,
            days=o.days,
        )  # fmt: skip
        backup = None if dry_run else run_rotation(o.ca_dir, plan)
        self._cached = None
        return {
            "step": step,
            "phase": plan.phase,
            "ca_dir": str(o.ca_dir),
            "old_sha256": plan.state.get("old_sha256"),
            "new_sha256": plan.state.get("new_sha256"),
            "plan": list(plan.plan),
            "dry_run": dry_run,
            "backup": str(backup) if backup else None,
        }

    def ca_rotation(self) -> dict[str, Any]:
        """The rollover phase and the fingerprints ``ca.crt`` holds."""
        from tlsprov_selfsigned._rotate import rotation_status

        return rotation_status(self.options.ca_dir)


def make_provider(options: dict[str, Any]) -> SelfSignedProvider:
    """The ``selfsigned`` factory: parse ``options`` and build the provider."""
    return SelfSignedProvider(SelfSignedOptions.parse(options))
