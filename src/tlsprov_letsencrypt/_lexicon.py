"""dns-01 through dns-lexicon (the optional extra ``tlsprov[lexicon]``): 100+ DNS providers.

The zone of each record is found by its SOA (on ``dns_resolver`` when set, else through the
system resolver), never guessed from a list of public suffixes, so internal zones work. The
TXT records are created through the lexicon provider, waited for on the zone's authoritative
servers (or ``dns_resolver``) with a bounded timeout, and always deleted again in ``close``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from tlsprov.errors import ConfigError, IssuanceError
from tlsprov_letsencrypt._challenges import PROGRESS, Item, Publisher, resolver_for, wait_for_txt
from tlsprov_letsencrypt._options import AcmeOptions

__all__ = ["LexiconDns", "find_zone"]

log = logging.getLogger("tlsprov")


def find_zone(record: str, server: tuple[str, int] | None) -> str:
    """The zone that holds ``record`` (its closest SOA), without the trailing dot.

    Raises:
        IssuanceError: no SOA was found for any parent of ``record``.
    """
    import dns.exception
    import dns.resolver

    try:
        zone = dns.resolver.zone_for_name(record, resolver=resolver_for(server))
    except (dns.exception.DNSException, OSError) as exc:
        where = f"{server[0]}:{server[1]}" if server else "the system resolver"
        raise IssuanceError(
            f"cannot find the DNS zone of {record} on {where}: {type(exc).__name__}",
            hint="check dns_resolver, or that the zone is served",
        ) from exc
    return str(zone.to_text(omit_final_dot=True))


def _authoritative(zone: str) -> list[tuple[str, int]]:
    """The addresses of the zone's name servers (port 53), through the system resolver."""
    import dns.exception

    resolver = resolver_for(None)
    servers: list[tuple[str, int]] = []
    try:
        for ns in resolver.resolve(zone, "NS"):
            for rtype in ("A", "AAAA"):
                with contextlib.suppress(dns.exception.DNSException):
                    servers += [(str(a), 53) for a in resolver.resolve(ns.target, rtype)]
    except dns.exception.DNSException as exc:
        raise IssuanceError(
            f"cannot find the name servers of {zone}: {type(exc).__name__}",
            hint="set dns_resolver to a server that answers for the zone",
        ) from exc
    return servers


@contextlib.contextmanager
def _lexicon_errors(action: str, provider: str, record: str) -> Iterator[None]:
    """One line for whatever the lexicon provider raises (HTTP errors, bad options, ...)."""
    try:
        yield
    except (IssuanceError, ConfigError):
        raise
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise IssuanceError(
            f"dns-lexicon provider '{provider}' could not {action} the TXT record {record}: "
            f"{type(exc).__name__}: {first}",
            hint="check lexicon_provider and its [provider.letsencrypt.lexicon] options",
        ) from exc


class LexiconDns(Publisher):
    """Creates the TXT records through dns-lexicon and deletes them again in :meth:`close`."""

    def __init__(self, opts: AcmeOptions) -> None:
        assert opts.lexicon_provider is not None
        self.opts = opts
        self.provider = opts.lexicon_provider
        self._added: list[tuple[str, Item]] = []

    def _client(self, zone: str) -> Any:
        from lexicon.client import Client
        from lexicon.config import ConfigResolver

        config = ConfigResolver().with_dict(  # type: ignore[no-untyped-call]
            {
                "provider_name": self.provider,
                "domain": zone,
                "resolve_zone_name": True,  # the zone was found by SOA: no public-suffix guess
                "ttl": 60,
                self.provider: dict(self.opts.lexicon),
            }
        )
        return Client(config)

    @contextlib.contextmanager
    def _operations(self, zone: str, action: str, record: str) -> Iterator[Any]:
        """A lexicon session for ``zone``; its zone lookup goes to ``dns_resolver`` too."""
        import dns.resolver

        saved = dns.resolver.default_resolver
        dns.resolver.default_resolver = resolver_for(self.opts.dns_resolver)
        try:
            with _lexicon_errors(action, self.provider, record), self._client(zone) as ops:
                yield ops
        finally:
            dns.resolver.default_resolver = saved

    def publish(self, items: list[Item]) -> None:
        """Create every item's TXT record, then wait until the authoritative servers answer."""
        zones: dict[str, list[Item]] = {}
        for item in items:
            zones.setdefault(find_zone(item.record, self.opts.dns_resolver), []).append(item)
        for zone, members in zones.items():
            for item in members:
                log.info("adding TXT %s through dns-lexicon (%s)", item.record, self.provider)
                with self._operations(zone, "create", item.record) as ops:
                    self._added.append((zone, item))
                    ops.create_record("TXT", item.record, item.validation)
        log.info("waiting for the TXT record(s) to be visible...", extra=PROGRESS)
        for zone, members in zones.items():
            servers = [self.opts.dns_resolver] if self.opts.dns_resolver else _authoritative(zone)
            for server in servers:
                wait_for_txt(server, members, self.opts.dns_propagation_timeout)

    def close(self) -> None:
        """Delete every record this publisher created; log (never raise) what could not be."""
        for zone, item in self._added:
            try:
                with self._operations(zone, "delete", item.record) as ops:
                    ops.delete_record(rtype="TXT", name=item.record, content=item.validation)
            except Exception as exc:
                log.warning("could not remove TXT %s: %s", item.record, exc)
        self._added = []
