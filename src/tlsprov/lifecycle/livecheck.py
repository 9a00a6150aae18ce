"""The live check after an install: the endpoint serves the new leaf and passes verification."""

from __future__ import annotations

import time
from collections.abc import Callable

from tlsprov.errors import InputError, VerifyError
from tlsprov.lifecycle.config import Config
from tlsprov.models import IssuedBundle
from tlsprov.pki.x509 import load_cert

__all__ = ["live_check"]


def live_check(
    config: Config, bundle: IssuedBundle, *, timeout: float | None = None
) -> Callable[[], None]:
    """A check that the live endpoint serves ``bundle``'s leaf and passes verification
    trusting only its CA, waiting a bounded time (Harbor restarts after ``compose up``)."""
    from tlsprov.pki.x509 import fingerprint

    ca_pem = bundle.ca_pem
    expected = fingerprint(load_cert(bundle.leaf_pem))

    def check() -> None:
        from tlsprov.pki.verify import verify_endpoint

        limit = config.install.verify_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        connect = _parse_connect(config.install.connect, config.harbor.https_port)
        delay = 0.1
        while True:
            report = verify_endpoint(
                config.harbor.hostname,
                config.harbor.https_port,
                ca_pem=ca_pem,
                connect=connect,
                timeout=min(10.0, max(1.0, limit)),
            )
            serves_new = report.fingerprint_sha256 == expected
            if report.ok and serves_new:
                return
            if time.monotonic() + delay > deadline:
                failed = "; ".join(f"{c.name}: {c.detail}" for c in report.checks if not c.ok)
                if report.ok:
                    failed = "it still serves another certificate (was the proxy restarted?)"
                raise VerifyError(
                    f"https://{config.harbor.hostname}:{config.harbor.https_port} did not pass "
                    f"verification within {limit:g} s ({failed})",
                    hint="check that Harbor came back up (docker compose ps), or raise "
                    "--verify-timeout",
                )
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    return check


def _parse_connect(value: str | None, default_port: int) -> tuple[str, int] | None:
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or "]" in port:
        return value.strip("[]"), default_port
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise InputError(f"bad connect address '{value}'", hint="use ADDR[:PORT]") from None
