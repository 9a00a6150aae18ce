"""Publishing challenge responses: http-01 (standalone server, webroot) and dns-01 (hook, RFC 2136).

Every publisher is used as ``open()`` → ``publish(items)`` → ``close()``; ``close`` withdraws
everything it published and always runs.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlsprov.errors import ConfigError, IssuanceError
from tlsprov.fsops import atomic_write
from tlsprov.runner import CommandRunner
from tlsprov_letsencrypt._options import AcmeOptions

__all__ = ["Item", "Publisher", "make_publisher", "resolver_for"]

log = logging.getLogger("tlsprov")
PROGRESS = {"progress": True}  # shown as a status line on a terminal


@dataclass(frozen=True, slots=True)
class Item:
    """One challenge to publish.

    Attributes:
        name: the identifier as shown to users (``*.wild.test`` for a wildcard).
        domain: the identifier value the CA validates (``wild.test``).
        token_path: the http-01 path (``/.well-known/acme-challenge/<token>``).
        record: the dns-01 record name without the trailing dot.
        validation: the key authorization (http-01) or TXT value (dns-01).
    """

    name: str
    domain: str
    token_path: str
    record: str
    validation: str


class Publisher:
    """Base publisher: nothing to prepare, nothing to withdraw."""

    def open(self) -> None:
        """Prepare (run hooks, bind ports) before the order is created."""

    def publish(self, items: list[Item]) -> None:
        """Make every item visible to the CA; return when it is."""

    def close(self) -> None:
        """Withdraw everything published; never raises for cleanup failures."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        body = self.server.resources.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode("ascii")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http-01 responder: %s", format % args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    resources: dict[str, str]

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class StandaloneHttp(Publisher):
    """A small HTTP server answering only ``/.well-known/acme-challenge/<token>``."""

    def __init__(self, opts: AcmeOptions, runner: CommandRunner) -> None:
        self.opts = opts
        self.runner = runner
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._pre_done = False

    def open(self) -> None:
        o = self.opts
        if o.pre_hook:
            log.info("running the pre-hook: %s", " ".join(o.pre_hook))
            self.runner.run(o.pre_hook)
            self._pre_done = True
        family = socket.AF_INET6 if ":" in o.http_address else socket.AF_INET
        server_cls = type("_BoundServer", (_Server,), {"address_family": family})
        try:
            server = server_cls((o.http_address, o.http_port), _Handler)
        except OSError as exc:
            self.close()
            where = f"[{o.http_address}]" if family == socket.AF_INET6 else o.http_address
            raise IssuanceError(
                f"cannot listen on {where}:{o.http_port} for http-01: {exc.strerror}",
                hint="stop what holds the port (pre_hook/post_hook can do it), run with the "
                "right privileges, or use --webroot or --challenge dns-01",
            ) from exc
        server.resources = {}
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def publish(self, items: list[Item]) -> None:
        assert self._server is not None
        for item in items:
            self._server.resources[item.token_path] = item.validation

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        if self._pre_done and self.opts.post_hook:
            self._pre_done = False
            log.info("running the post-hook: %s", " ".join(self.opts.post_hook))
            try:
                self.runner.run(self.opts.post_hook)
            except Exception as exc:  # cleanup must not mask the result
                log.warning("the post-hook failed: %s", exc)


class Webroot(Publisher):
    """Writes token files under ``<webroot>/.well-known/acme-challenge/`` and removes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: list[Path] = []
        self._dirs: list[Path] = []

    def publish(self, items: list[Item]) -> None:
        folder = self.root / ".well-known" / "acme-challenge"
        for parent in (self.root / ".well-known", folder):
            if not parent.exists():
                self._dirs.insert(0, parent)
        for item in items:
            path = self.root / item.token_path.lstrip("/")
            atomic_write(path, item.validation.encode("ascii"), mode=0o644, dir_mode=0o755)
            self._files.append(path)

    def close(self) -> None:
        for path in self._files:
            with contextlib.suppress(OSError):
                path.unlink()
        for folder in self._dirs:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        self._files, self._dirs = [], []


def resolver_for(server: tuple[str, int] | None, lifetime: float = 5.0) -> Any:
    """A resolver asking only ``server`` (address, port), or the system's when None."""
    import dns.resolver

    if server is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [server[0]]
        resolver.port = server[1]
    resolver.lifetime = lifetime
    return resolver


def _txt_values(server: tuple[str, int], name: str) -> set[str]:
    import dns.exception
    import dns.resolver

    resolver = resolver_for(server)
    try:
        answer = resolver.resolve(name, "TXT", lifetime=2.0, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers, dns.exception.Timeout):
        return set()
    return {b"".join(r.strings).decode("ascii", "replace") for r in answer}


def wait_for_txt(server: tuple[str, int], items: list[Item], timeout: float) -> None:
    """Wait until ``server`` answers every item's TXT value, or raise IssuanceError."""
    deadline = time.monotonic() + timeout
    interval = 0.05
    missing = list(items)
    while True:
        missing = [i for i in missing if i.validation not in _txt_values(server, i.record)]
        if not missing:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            names = ", ".join(sorted({i.record for i in missing}))
            raise IssuanceError(
                f"the TXT record(s) {names} did not appear on {server[0]}:{server[1]} "
                f"within {timeout:g} s",
                hint="check the DNS hook or update, or raise dns_propagation_timeout",
            )
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, 2.0)


class DnsHook(Publisher):
    """Calls ``PROG add <record> <value>`` and later ``PROG remove <record> <value>``."""

    def __init__(self, opts: AcmeOptions, runner: CommandRunner) -> None:
        assert opts.dns_hook is not None
        self.opts = opts
        self.hook = opts.dns_hook
        self.runner = runner
        self._added: list[Item] = []

    def publish(self, items: list[Item]) -> None:
        for item in items:
            log.info("publishing TXT %s through %s", item.record, self.hook)
            self.runner.run([self.hook, "add", item.record, item.validation], timeout=120)
            self._added.append(item)
        if self.opts.dns_resolver is not None:
            log.info("waiting for the TXT record(s) to be visible...", extra=PROGRESS)
            wait_for_txt(self.opts.dns_resolver, items, self.opts.dns_propagation_timeout)

    def close(self) -> None:
        for item in self._added:
            try:
                self.runner.run([self.hook, "remove", item.record, item.validation], timeout=120)
            except Exception as exc:  # cleanup must not mask the result
                log.warning("could not remove TXT %s: %s", item.record, exc)
        self._added = []


_KEY_RE = re.compile(r'key\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', re.DOTALL)
_ALG_RE = re.compile(r"algorithm\s+\"?([A-Za-z0-9.-]+)\"?\s*;")
_SECRET_RE = re.compile(r'secret\s+"([^"]+)"\s*;')


def read_tsig_key(path: Path) -> tuple[str, str, str]:
    """Parse a BIND ``key "name" { algorithm ...; secret "..."; };`` file.

    Returns ``(name, algorithm, secret)``. Raises ConfigError on a malformed file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}", key="tsig_key") from exc
    m = _KEY_RE.search(text)
    alg = _ALG_RE.search(m.group(2)) if m else None
    secret = _SECRET_RE.search(m.group(2)) if m else None
    if not m or not alg or not secret:
        raise ConfigError(
            f"{path} is not a BIND key file",
            key="tsig_key",
            hint='expected: key "NAME" { algorithm hmac-sha256; secret "BASE64"; };',
        )
    return m.group(1), alg.group(1), secret.group(1)


class Rfc2136(Publisher):
    """Adds and deletes TXT records with TSIG-signed dynamic updates (``dnspython``)."""

    def __init__(self, opts: AcmeOptions) -> None:
        assert opts.rfc2136_server is not None and opts.tsig_key is not None
        self.opts = opts
        self.server = opts.rfc2136_server
        self.key = read_tsig_key(opts.tsig_key)
        self._added: list[Item] = []

    def _zone(self, name: str) -> Any:
        import dns.exception
        import dns.message
        import dns.query
        import dns.rdatatype

        query = dns.message.make_query(name, dns.rdatatype.SOA)
        try:
            resp = dns.query.udp(query, self.server[0], port=self.server[1], timeout=5)
        except (OSError, dns.exception.DNSException) as exc:
            raise IssuanceError(
                f"the DNS server {self.server[0]}:{self.server[1]} did not answer",
                hint="check rfc2136_server",
            ) from exc
        for section in (resp.answer, resp.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA:
                    return rrset.name
        raise IssuanceError(
            f"{self.server[0]}:{self.server[1]} is not authoritative for {name}",
            hint="point rfc2136_server at the primary server of the zone",
        )

    def _update(self, item: Item, action: str) -> None:
        import dns.exception
        import dns.name
        import dns.query
        import dns.rcode
        import dns.tsigkeyring
        import dns.update

        keyname, alg, secret = self.key
        keyring = dns.tsigkeyring.from_text({keyname: (alg, secret)})
        zone = self._zone(item.record)
        update = dns.update.UpdateMessage(
            zone, keyring=keyring, keyname=dns.name.from_text(keyname)
        )
        rel = dns.name.from_text(item.record).relativize(zone)
        if action == "add":
            update.add(rel, 60, "TXT", f'"{item.validation}"')
        else:
            update.delete(rel, "TXT", f'"{item.validation}"')
        try:
            resp = dns.query.tcp(update, self.server[0], port=self.server[1], timeout=10)
        except (OSError, dns.exception.DNSException) as exc:
            raise IssuanceError(
                f"the dynamic update of {item.record} failed: {type(exc).__name__}: {exc}",
                hint="check rfc2136_server and the TSIG key",
            ) from exc
        if resp.rcode() != dns.rcode.NOERROR:
            raise IssuanceError(
                f"the DNS server refused the update of {item.record}: "
                f"{dns.rcode.to_text(resp.rcode())}",
                hint="check that the TSIG key may update this zone (allow-update/update-policy)",
            )

    def publish(self, items: list[Item]) -> None:
        for item in items:
            log.info("adding TXT %s by RFC 2136 update", item.record)
            self._update(item, "add")
            self._added.append(item)
        check = self.opts.dns_resolver or self.server
        log.info("waiting for the TXT record(s) to be visible...", extra=PROGRESS)
        wait_for_txt(check, items, self.opts.dns_propagation_timeout)

    def close(self) -> None:
        for item in self._added:
            try:
                self._update(item, "delete")
            except Exception as exc:
                log.warning("could not remove TXT %s: %s", item.record, exc)
        self._added = []


def make_publisher(opts: AcmeOptions, runner: CommandRunner) -> Publisher:
    """The publisher the options ask for."""
    if opts.challenge == "dns-01":
        if opts.dns == "lexicon":
            from tlsprov_letsencrypt._lexicon import LexiconDns

            return LexiconDns(opts)
        if opts.dns_hook:
            return DnsHook(opts, runner)
        return Rfc2136(opts)
    if opts.webroot is not None:
        return Webroot(opts.webroot)
    return StandaloneHttp(opts, runner)
