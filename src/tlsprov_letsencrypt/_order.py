"""One ACME order: challenges, our own deadline-bounded polling, finalization, chain choice."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import requests
from acme import challenges, messages
from requests.utils import parse_header_links

from tlsprov.errors import ChallengeFailed, IssuanceError
from tlsprov_letsencrypt._challenges import Item, Publisher
from tlsprov_letsencrypt._client import Connection
from tlsprov_letsencrypt._errors import describe_problem

__all__ = [
    "Deadline",
    "answer_challenges",
    "finalize",
    "status_name",
    "wait_authorizations",
]

log = logging.getLogger("tlsprov")
PROGRESS = {"progress": True}  # shown as a status line on a terminal

_FIRST_WAIT = 0.05
_MAX_WAIT = 1.0
_PENDING = ("pending", "processing")


class Deadline:
    """A monotonic deadline with a growing poll interval that honours Retry-After."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.interval = _FIRST_WAIT

    def remaining(self) -> float:
        """Seconds left (may be negative)."""
        return self.end - time.monotonic()

    def sleep(self, response: requests.Response | None, what: str) -> None:
        """Wait before the next poll, or raise IssuanceError when the deadline has passed."""
        wait = self.interval
        header = response.headers.get("Retry-After") if response is not None else None
        if header:
            when = _retry_after_seconds(response)
            if when is not None:
                wait = max(0.0, when)
        self.interval = min(self.interval * 2, _MAX_WAIT)
        remaining = self.remaining()
        if remaining <= 0:
            raise IssuanceError(
                f"gave up waiting for the CA {what} after {self.seconds:g} s",
                hint="raise the timeout option or try again later",
            )
        time.sleep(min(wait, remaining))


def _retry_after_seconds(response: Any) -> float | None:
    from acme.client import ClientV2

    # retry_after() compares with the naive local clock; so do we.
    when = ClientV2.retry_after(response, 0)
    return (when - dt.datetime.now()).total_seconds()


def status_name(status: Any) -> str:
    """The plain status word (``valid``, ``pending``, ...) of an ACME resource."""
    return str(getattr(status, "name", status))


def _display(authzr: messages.AuthorizationResource) -> str:
    ident = authzr.body.identifier.value
    return f"*.{ident}" if authzr.body.wildcard else str(ident)


def _pick(authzr: messages.AuthorizationResource, kind: str) -> messages.ChallengeBody:
    wanted = challenges.HTTP01 if kind == "http-01" else challenges.DNS01
    for challb in authzr.body.challenges:
        if isinstance(challb.chall, wanted):
            return challb
    offered = ", ".join(str(c.chall.typ) for c in authzr.body.challenges) or "none"
    raise IssuanceError(
        f"the CA offers no {kind} challenge for {_display(authzr)} (offered: {offered})",
        hint="choose another --challenge",
    )


def answer_challenges(
    conn: Connection, authzrs: list[messages.AuthorizationResource], kind: str, pub: Publisher
) -> None:
    """Publish the response for each authorization, then tell the CA to validate."""
    chosen = []
    items = []
    for authzr in authzrs:
        challb = _pick(authzr, kind)
        response, validation = challb.response_and_validation(conn.jwk)
        domain = str(authzr.body.identifier.value)
        record = challb.chall.validation_domain_name(domain) if kind == "dns-01" else ""
        path = challb.chall.path if kind == "http-01" else ""
        chosen.append((authzr, challb, response))
        items.append(Item(_display(authzr), domain, path, record, validation))
    pub.publish(items)
    for authzr, challb, response in chosen:
        log.info(
            "waiting for the CA to validate %s (%s)...", _display(authzr), kind, extra=PROGRESS
        )
        conn.client.answer_challenge(challb, response)


def _failure(authzr: messages.AuthorizationResource) -> str:
    problems = [describe_problem(c.error) for c in authzr.body.challenges if c.error]
    why = "; ".join(problems) or f"authorization {status_name(authzr.body.status)}"
    return f"{_display(authzr)}: {why}"


def wait_authorizations(
    conn: Connection, authzrs: list[messages.AuthorizationResource], kind: str, dl: Deadline
) -> None:
    """Poll until every authorization is valid; raise ChallengeFailed naming each failure."""
    pending = list(authzrs)
    failed: list[messages.AuthorizationResource] = []
    while pending:
        last = None
        still = []
        for authzr in pending:
            authzr, last = conn.client.poll(authzr)
            status = status_name(authzr.body.status)
            if status == "valid":
                log.info("the CA validated %s", _display(authzr))
            elif status in _PENDING:
                still.append(authzr)
            else:
                failed.append(authzr)
        if failed:
            names = [_display(a) for a in failed]
            hint = (
                "check that each name resolves to this host and that port 80 reaches tlsprov"
                if kind == "http-01"
                else "check that the TXT record is published where the CA looks it up"
            )
            raise ChallengeFailed(
                f"the CA could not validate {'; '.join(_failure(a) for a in failed)}",
                identities=names,
                hint=hint,
            )
        pending = still
        if pending:
            dl.sleep(last, f"to validate {', '.join(_display(a) for a in pending)}")


def _post_as_get(conn: Connection, url: str) -> requests.Response:
    return conn.net.post(url, None, new_nonce_url=conn.client.directory["newNonce"])


def _poll_order(conn: Connection, order: messages.OrderResource) -> tuple[Any, Any]:
    response = _post_as_get(conn, order.uri)
    return order.update(body=messages.Order.from_json(response.json())), response


def _check_invalid(order: messages.OrderResource, names: str) -> None:
    if status_name(order.body.status) == "invalid":
        why = describe_problem(order.body.error) if order.body.error else "order invalid"
        raise IssuanceError(
            f"the CA did not issue the certificate for {names}: {why}",
            hint="run again; run with -v for the ACME exchange",
        )


def finalize(
    conn: Connection, order: messages.OrderResource, names: str, dl: Deadline, *, alternates: bool
) -> list[str]:
    """Finalize ``order`` and download the certificate; return the chain(s), served first."""
    while True:
        try:
            order = conn.client.begin_finalization(order)
            break
        except messages.Error as exc:
            if exc.code != "orderNotReady":
                raise
        order, response = _poll_order(conn, order)
        _check_invalid(order, names)
        dl.sleep(response, f"to make the order for {names} ready")
    log.info("waiting for the CA to issue the certificate for %s...", names, extra=PROGRESS)
    response = None
    while status_name(order.body.status) != "valid":
        _check_invalid(order, names)
        dl.sleep(response, f"to issue the certificate for {names}")
        order, response = _poll_order(conn, order)
    if not order.body.certificate:
        raise IssuanceError(f"the CA marked the order for {names} valid without a certificate")
    cert_response = _post_as_get(conn, order.body.certificate)
    chains = [cert_response.text]
    if alternates:
        header = cert_response.headers.get("Link", "")
        for link in parse_header_links(header) if header else []:
            if link.get("rel") == "alternate" and link.get("url"):
                chains.append(_post_as_get(conn, link["url"]).text)
    return chains
