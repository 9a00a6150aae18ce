"""``tlsprov trust``: make one machine a client of a registry, and nothing more.

The CA comes from a file or from Harbor's ``GET /api/v2.0/systeminfo/getcert``. A fetched CA
is never trusted on first use: every certificate in it must be pinned by a SHA-256
fingerprint, and the server must then present a chain that verifies to it for the host. The
client-only behaviour of the built-in targets lays out the files, and the install engine
applies them (backup, atomic writes, rollback). No server key is read or written.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsprov.errors import InputError, VerifyError
from tlsprov.install.planning import OS_TRUST, InstallPlan, assemble_plan, assess
from tlsprov.models import CommandStep, InstallContext, IssuedBundle, Plan
from tlsprov.pki.x509 import fingerprint, load_certs, split_pem

if TYPE_CHECKING:
    from tlsprov.install.result import InstallResult
    from tlsprov.plugins.registry import Registry
    from tlsprov.runner import CommandRunner

__all__ = [
    "CLIENT_TARGETS",
    "GETCERT_PATH",
    "TrustOutcome",
    "apply_trust",
    "check_pins",
    "default_targets",
    "load_ca_file",
    "normalize_fingerprint",
    "plan_trust",
]

CLIENT_TARGETS = ("docker", "containerd", "podman", OS_TRUST)
GETCERT_PATH = "/api/v2.0/systeminfo/getcert"
_MAX_BODY = 1 << 20
_HEX = re.compile(r"^[0-9a-f]{64}$")
# Where a target counts as present under the root: a configuration folder or a program.
_SIGNS = {
    "docker": ("etc/docker", "docker", "dockerd"),
    "containerd": ("etc/containerd", "containerd"),
    "podman": ("etc/containers", "podman", "skopeo", "buildah"),
}
_BIN_DIRS = ("usr/bin", "usr/sbin", "usr/local/bin", "bin", "sbin")


def normalize_fingerprint(text: str) -> str:
    """``AB:CD:..`` (upper case, colons) from colon hex with or without ``sha256:``, any case.

    Raises:
        InputError: not a SHA-256 fingerprint.
    """
    raw = text.strip().lower()
    raw = raw.removeprefix("sha256:").strip()
    digits = raw.replace(":", "")
    if not _HEX.match(digits):
        raise InputError(
            f"'{text}' is not a SHA-256 fingerprint",
            hint="pass the 64 hex digits 'tlsprov ca init' or 'tlsprov inspect' print "
            "(colons and a sha256: prefix are optional)",
        )
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2)).upper()


def _ca_bundle(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """The CA certificates of ``data`` as one PEM bundle and their fingerprints.

    Raises:
        InputError: no certificate, a malformed one, or one that is not a CA.
    """
    from cryptography import x509

    certs = load_certs(data, source=source)
    for cert in certs:
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise InputError(
                f"{source} holds {cert.subject.rfc4514_string()}, which is not a CA certificate",
                hint="clients trust the CA (ca.crt), never a server certificate",
            )
    return b"".join(split_pem(data)), [fingerprint(c) for c in certs]


def load_ca_file(path: Path) -> tuple[bytes, list[str]]:
    """Read a CA file (one or more CA certificates); return the PEM and the fingerprints.

    Raises:
        InputError: unreadable, malformed, or not a CA.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot read the CA file {path}: {exc.strerror or exc}", hint="check --ca"
        ) from exc
    return _ca_bundle(data, str(path))


def check_pins(found: Sequence[str], pins: Sequence[str], source: str) -> None:
    """Every certificate in ``found`` must be pinned.

    Raises:
        InputError: a certificate no fingerprint pins (trust on first use is refused).
    """
    wanted = {normalize_fingerprint(p) for p in pins}
    for fp in found:
        if fp not in wanted:
            raise InputError(
                f"{source} holds a CA with SHA-256 {fp}, which no --fingerprint names; "
                "nothing was trusted",
                hint="compare with the fingerprint 'tlsprov status' prints on the Harbor host "
                "(pass one --fingerprint per CA during a rollover)",
            )


def _http_get(host: str, port: int, connect: tuple[str, int], path: str, timeout: float) -> bytes:
    """GET ``path`` over TLS without verifying the server (the answer is pinned after)."""
    import http.client
    import socket
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # what comes back is checked against the pins
    name = f"[{host}]" if ":" in host else host
    header = name if port == 443 else f"{name}:{port}"
    where = f"{connect[0]}:{connect[1]}"
    try:
        with (
            socket.create_connection(connect, timeout=timeout) as raw,
            ctx.wrap_socket(raw, server_hostname=host) as tls,
        ):
            tls.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {header}\r\nUser-Agent: tlsprov-trust\r\n"
                "Connection: close\r\n\r\n".encode("ascii")
            )
            response = http.client.HTTPResponse(tls)
            response.begin()
            body = response.read(_MAX_BODY + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise VerifyError(
            f"cannot fetch https://{header}{path} from {where}: {exc or type(exc).__name__}",
            hint="check the host, --connect and that Harbor is up",
        ) from exc
    if response.status != 200:
        raise VerifyError(
            f"https://{header}{path} answered {response.status} {response.reason}",
            hint="Harbor serves its CA there when <data_volume>/ca_download/ca.crt exists "
            "(the harbor target writes it); otherwise pass --ca FILE",
        )
    if len(body) > _MAX_BODY:
        raise VerifyError(f"https://{header}{path} answered more than {_MAX_BODY} bytes")
    return body


def fetch_harbor_ca(
    host: str,
    port: int,
    pins: Sequence[str],
    *,
    connect: tuple[str, int] | None = None,
    timeout: float = 10.0,
) -> tuple[bytes, list[str], list[str]]:
    """Fetch the CA Harbor publishes, check the pins, then verify the server's chain with it.

    Returns the CA PEM, its fingerprints and warnings.

    Raises:
        InputError: no pin given, or the fetched CA is not pinned.
        VerifyError: the endpoint cannot be reached or its chain does not verify for ``host``.
    """
    from tlsprov.pki.verify import verify_endpoint

    if not pins:
        raise InputError(
            "--from-harbor needs --fingerprint: a CA fetched over the network is never "
            "trusted on first use",
            hint="pass the SHA-256 fingerprint 'tlsprov status' prints on the Harbor host",
        )
    address = connect or (host, port)
    url = f"https://{host}:{port}{GETCERT_PATH}"
    body = _http_get(host, port, address, GETCERT_PATH, timeout)
    try:
        ca_pem, found = _ca_bundle(body, url)
    except InputError as exc:
        raise VerifyError(exc.message, hint=exc.hint) from exc
    check_pins(found, pins, url)
    report = verify_endpoint(
        host, port, ca_pem=ca_pem, connect=address, timeout=timeout, probe_v2=False, min_days=0
    )
    needed = {"connect", "handshake", "names", "server-auth"}
    bad = [c for c in report.checks if c.name in needed and not c.ok]
    if bad or not {c.name for c in report.checks} >= needed:
        detail = "; ".join(c.detail for c in bad) or "the TLS handshake did not complete"
        raise VerifyError(
            f"the CA from {url} matches the fingerprint, but the server's chain does not "
            f"verify for {host}: {detail}; nothing was trusted",
            hint="the registry may be intercepted, or serve a certificate from another CA",
        )
    warnings = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
    return ca_pem, found, warnings


def default_targets(root: Path) -> list[str]:
    """The engines found under ``root`` (a config folder or program), plus the OS store."""
    from tlsprov.install.targets.ostrust import detect_family

    found = [
        name
        for name, signs in _SIGNS.items()
        if (root / signs[0]).is_dir()
        or any((root / d / prog).exists() for prog in signs[1:] for d in _BIN_DIRS)
    ]
    try:
        detect_family(InstallContext(root=root, host="localhost"))
    except InputError:
        pass
    else:
        found.append(OS_TRUST)
    return found


def _placeholder(ca_pem: bytes) -> IssuedBundle:
    """A bundle that only carries the CA: client-only targets read nothing else."""
    return IssuedBundle(private_key_pem=b"", leaf_pem=split_pem(ca_pem)[0], ca_pem=ca_pem)


def _restart_containerd(plan: Plan) -> Plan:
    why = "the OS trust store changed and containerd reads system roots only at start"
    step = CommandStep(argv=("systemctl", "restart", "containerd"), reason=why, always=True)
    return dataclasses.replace(
        plan,
        commands=(*plan.commands, step),
        notes=(*plan.notes, f"containerd will be restarted: {why}"),
    )


def plan_trust(
    context: InstallContext,
    ca_pem: bytes,
    targets: Sequence[str],
    *,
    registry: Registry | None = None,
) -> InstallPlan:
    """Plan the client files for ``targets`` (os-trust first); change nothing.

    Raises:
        InputError: an unknown or server-side target, a bad client bundle, a host problem.
    """
    from tlsprov.pki.bundlecheck import check_client_bundle

    names = list(dict.fromkeys(targets))
    if not names:
        raise InputError(
            "no trust targets: no container engine or supported OS store was found",
            hint=f"pass --targets with some of {','.join(CLIENT_TARGETS)}",
        )
    for name in names:
        if name not in CLIENT_TARGETS:
            raise InputError(
                f"'{name}' is not a client target",
                hint=f"trust installs into {', '.join(CLIENT_TARGETS)}; use 'tlsprov install' "
                "on the Harbor host",
            )
    warnings: list[str] = []
    if context.client_bundle is not None:
        warnings += check_client_bundle(context.client_bundle)
    if registry is None:
        from tlsprov.plugins.registry import default_registry

        registry = default_registry()
    context = dataclasses.replace(context, client_only=True)
    bundle = _placeholder(ca_pem)
    order = ([OS_TRUST] if OS_TRUST in names else []) + [n for n in names if n != OS_TRUST]
    plans: list[Plan] = []
    for name in order:
        plan = dataclasses.replace(registry.get_target(name).plan(bundle, context), target=name)
        if name == OS_TRUST and any(assess(name, w, context.root).changed for w in plan.writes):
            context = dataclasses.replace(context, os_trust_changed=True)
        if name == "containerd" and context.os_trust_changed:
            plan = _restart_containerd(plan)
        plans.append(plan)
    client_key = context.client_bundle.private_key_pem if context.client_bundle else None
    for plan in plans:
        for write in plan.writes:
            if write.secret and (write.content != client_key or not client_key):
                raise InputError(f"target '{plan.target}' planned a private key at {write.path}")
    return assemble_plan(context, plans, warnings=warnings)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustOutcome:
    """What :func:`apply_trust` did: the plan, the engine's result, the CA's fingerprints."""

    plan: InstallPlan
    result: InstallResult
    fingerprints: tuple[str, ...]
    source: str
    warnings: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when a file was written."""
        return self.result.changed

    @property
    def restarts(self) -> list[str]:
        """The services restarted (or, in a dry run, to be restarted)."""
        return [
            step.argv[-1]
            for _, step in self.plan.commands()
            if step.argv[:2] == ("systemctl", "restart")
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        from tlsprov.install.render import plan_to_json

        return {
            "command": "trust",
            "registry": self.plan.context.registry,
            "source": self.source,
            "fingerprints": list(self.fingerprints),
            "targets": [p.target for p in self.plan.plans],
            "changed": self.changed,
            "restarts": self.restarts if self.plan.changed else [],
            "warnings": list(self.warnings + self.result.warnings),
            "plan": plan_to_json(self.plan),
            "result": self.result.to_json(),
        }


def apply_trust(
    context: InstallContext,
    ca_pem: bytes,
    targets: Sequence[str],
    *,
    fingerprints: Sequence[str],
    source: str,
    state_dir: Path | None = None,
    dry_run: bool = False,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
    warnings: Sequence[str] = (),
) -> TrustOutcome:
    """Recover an interrupted install, plan, then apply (or only render, for a dry run).

    Raises:
        InputError: see :func:`plan_trust`.
        InstallError: a write or command failed (everything was rolled back).
    """
    from tlsprov.install.engine import apply_install
    from tlsprov.install.rollback import recover_interrupted

    notes = list(warnings)
    if not dry_run:
        recovered = recover_interrupted(
            context.root, state_dir, runner=runner, lock_timeout=lock_timeout
        )
        if recovered is not None:
            notes.append(f"rolled back an interrupted install first ({recovered.notes[0]})")
    plan = plan_trust(context, ca_pem, targets)
    result = apply_install(
        plan, state_dir=state_dir, dry_run=dry_run, runner=runner, lock_timeout=lock_timeout
    )
    return TrustOutcome(
        plan=plan,
        result=result,
        fingerprints=tuple(fingerprints),
        source=source,
        warnings=tuple(notes),
    )
