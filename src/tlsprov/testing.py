"""Helpers for tlsprov's tests and for plugin authors' tests.

- :func:`registry_with` builds a registry from in-process plugins (inline ``@hookimpl`` classes).
- :func:`check_provider_conformance` issues one certificate and checks the bundle the way the
  host relies on it; :func:`check_target_conformance` does the same for a target's plans.
- :func:`tree_snapshot`, :func:`free_port` and :func:`wait_for_port` help tests that run real
  programs on loopback.

Only ``cryptography`` is imported besides the standard library and tlsprov's core.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsprov.models import CertificateRequest, InstallContext, IssuedBundle, KeyType, Plan
from tlsprov.pki.x509 import (
    covers,
    describe_key,
    key_matches_cert,
    load_certs,
    load_private_key,
    san_identities,
)
from tlsprov.plugins.interfaces import Provider, Target
from tlsprov.plugins.loader import LoadedPlugins, load_plugins
from tlsprov.plugins.registry import ManagedProvider, ManagedTarget, Registry

__all__ = [
    "check_provider_conformance",
    "check_target_conformance",
    "free_port",
    "registry_with",
    "tree_snapshot",
    "wait_for_port",
]

_KEY_DESCRIPTIONS = {
    KeyType.RSA2048: ("RSA", 2048),
    KeyType.RSA3072: ("RSA", 3072),
    KeyType.RSA4096: ("RSA", 4096),
    KeyType.EC256: ("EC P-256", 256),
    KeyType.EC384: ("EC P-384", 384),
    KeyType.ED25519: ("Ed25519", 256),
}


def registry_with(*plugins: object, entry_points: bool = False) -> Registry:
    """A fresh :class:`Registry` holding ``plugins`` (named ``plugin-0``, ``plugin-1``, ...).

    With ``entry_points=False`` (the default) no installed plugin is loaded, so the test sees
    only what it registered. Example::

        class Veto:
            @tlsprov.hookimpl
            def tlsprov_check_request(self, request, provider):
                raise tlsprov.PolicyError("no")

        reg = registry_with(MyProviderPlugin(), Veto())
    """
    loaded: LoadedPlugins = load_plugins(entry_points=entry_points, environ={})
    for index, plugin in enumerate(plugins):
        loaded.register(plugin, name=f"plugin-{index}")
    return Registry(loaded)


def tree_snapshot(
    path: Path | str, *, exclude: Iterable[str] = ()
) -> dict[str, tuple[int, bytes | None]]:
    """Everything below ``path``: relative path → ``(st_mode, content)``.

    ``st_mode`` comes from ``lstat`` (file type bits included; ``stat.S_IMODE`` gives the
    permissions). Content is the file's bytes, ``None`` for a folder, and the link target
    (as bytes) for a symbolic link, which is never followed. A missing ``path`` gives ``{}``.
    ``exclude`` names relative paths (``"var/lib/tlsprov"``) left out with all they hold; they
    are not read at all. Compare two snapshots to prove that a command changed nothing.
    """
    root = Path(path)
    skip = {PurePosixPath(rel).as_posix() for rel in exclude}
    result: dict[str, tuple[int, bytes | None]] = {}
    if not root.is_dir() or root.is_symlink():
        return result
    for current, dirs, files in os.walk(root):
        base = Path(current)
        if skip:
            prefix = base.relative_to(root).as_posix()
            prefix = "" if prefix == "." else prefix + "/"
            dirs[:] = [d for d in dirs if prefix + d not in skip]
            files = [f for f in files if prefix + f not in skip]
        for name in sorted(dirs + files):
            full = base / name
            rel = full.relative_to(root).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                result[rel] = (st.st_mode, os.fsencode(os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = (st.st_mode, None)
            else:
                result[rel] = (st.st_mode, full.read_bytes())
    return dict(sorted(result.items()))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (bind to port 0, read, close)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log: Path | None, lines: int = 20) -> str:
    if log is None:
        return ""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 15.0,
    proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
    log: Path | None = None,
) -> None:
    """Wait until ``host:port`` accepts a TCP connection, trying every 20 ms.

    Raises:
        RuntimeError: ``proc`` exited first (the message holds the tail of ``log``).
        TimeoutError: nothing listened within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"process {proc.args!r} exited with {proc.returncode} before listening on "
                f"{host}:{port}\n{_log_tail(log)}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"nothing listened on {host}:{port} within {timeout} s\n{_log_tail(log)}"
            )
        time.sleep(0.02)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _check_chain(
    leaf: x509.Certificate, chain: list[x509.Certificate], ca: x509.Certificate
) -> None:
    for child, issuer in zip([leaf, *chain], [*chain, ca], strict=True):
        if child == ca:
            return  # the chain may end with the CA itself
        try:
            child.verify_directly_issued_by(issuer)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise AssertionError(
                f"{child.subject.rfc4514_string()} is not signed by "
                f"{issuer.subject.rfc4514_string()} ({type(exc).__name__})"
            ) from exc


def check_provider_conformance(
    provider: Provider | ManagedProvider, request: CertificateRequest
) -> IssuedBundle:
    """Issue ``request`` with ``provider`` and check the bundle; return it.

    Checks: the result is an :class:`IssuedBundle`; the key is PKCS#8 PEM, matches the leaf and
    has the requested type; the leaf is not a CA, chains through ``chain_pem`` to ``ca_pem``
    (signatures checked), is valid now, has the right extended key usage, and its
    subjectAltName covers every requested name and address; ``repr`` shows no key.

    Raises:
        AssertionError: the provider broke one of these rules (the message says which).
    """
    bundle = provider.issue(request)
    _check(isinstance(bundle, IssuedBundle), f"issue() returned {type(bundle).__name__}")
    _check(
        b"-----BEGIN PRIVATE KEY-----" in bundle.private_key_pem,
        "the private key must be unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY)",
    )
    _check(b"PRIVATE KEY" not in repr(bundle).encode(), "repr(bundle) shows the private key")
    key = load_private_key(bundle.private_key_pem, source="bundle key")
    leaf = load_certs(bundle.leaf_pem, source="bundle leaf")[0]
    chain = [load_certs(pem, source="bundle chain")[0] for pem in bundle.chain_pem]
    ca = load_certs(bundle.ca_pem, source="bundle CA")[0]
    _check(key_matches_cert(key, leaf), "the private key does not match the leaf certificate")
    if request.key_type is not None:
        got = describe_key(leaf.public_key())
        want = _KEY_DESCRIPTIONS[request.key_type]
        _check(got == want, f"asked for a {want[0]} {want[1]} key, got {got[0]} {got[1]}")
    try:
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        _check(not bc.ca, "the leaf certificate is a CA (basicConstraints CA:TRUE)")
    except x509.ExtensionNotFound:
        pass
    _check_chain(leaf, chain, ca)
    now = dt.datetime.now(dt.UTC)
    _check(
        leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc,
        f"the leaf is not valid now ({leaf.not_valid_before_utc} .. {leaf.not_valid_after_utc})",
    )
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        raise AssertionError("the leaf has no extendedKeyUsage") from None
    if request.usage.server:
        _check(
            ExtendedKeyUsageOID.SERVER_AUTH in eku, "the leaf's extendedKeyUsage lacks serverAuth"
        )
    if request.usage.client:
        _check(
            ExtendedKeyUsageOID.CLIENT_AUTH in eku, "the leaf's extendedKeyUsage lacks clientAuth"
        )
    dns, ips = san_identities(leaf)
    _check(bool(dns or ips), "the leaf has no subjectAltName (CN-only)")
    for identity in request.identities:
        _check(covers(dns, ips, identity), f"the leaf's subjectAltName does not cover {identity}")
    return bundle


def _check_write_paths(plan: Plan, root: Path, key: bytes) -> None:
    from pathlib import PurePosixPath

    for write in plan.writes:
        path = PurePosixPath(write.path)
        _check(path.is_absolute(), f"{write.path} is not an absolute host path")
        _check(".." not in path.parts, f"{write.path} contains '..'")
        real = (root / Path(*path.parts[1:])).resolve()
        _check(real.is_relative_to(root.resolve()), f"{write.path} leaves the root {root}")
        if key.strip() and (key.strip() in write.content or b"PRIVATE KEY" in write.content):
            _check(write.secret, f"{write.path} holds the private key but is not marked secret")


def check_target_conformance(
    target: Target | ManagedTarget, bundle: IssuedBundle, context: InstallContext
) -> Plan:
    """Plan ``bundle`` twice with ``target`` and check the plans; return the first.

    Checks: planning writes nothing under ``context.root`` (plans only describe); the result is a
    :class:`Plan`; every write path is absolute, without ``..`` and stays under the root; every
    write holding the private key (or any PEM private key) is marked ``secret``; every command
    has a non-empty argument list of strings; a second plan equals the first (idempotent).

    Raises:
        AssertionError: the target broke one of these rules (the message says which).
    """
    before = tree_snapshot(context.root)
    plan = target.plan(bundle, context)
    _check(isinstance(plan, Plan), f"plan() returned {type(plan).__name__}, not a Plan")
    _check(tree_snapshot(context.root) == before, "plan() changed files under the root")
    _check_write_paths(plan, context.root, bundle.private_key_pem)
    for step in plan.commands:
        argv = step.argv
        _check(
            bool(argv) and all(isinstance(a, str) and a for a in argv),
            f"command {argv!r} must be a non-empty list of strings",
        )
    again = target.plan(bundle, context)
    _check(again == plan, "a second plan() differs from the first (plans must be idempotent)")
    _check(tree_snapshot(context.root) == before, "plan() changed files under the root")
    return plan
