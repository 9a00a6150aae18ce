"""Translate ``acme`` and ``requests`` exceptions into the tlsprov error tree, at the boundary."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from tlsprov.errors import ChallengeFailed, IssuanceError, RateLimited, TlsprovError

__all__ = ["acme_errors", "describe_problem", "problem_error"]

_CHALLENGE_CODES = frozenset(
    {
        "unauthorized",
        "rejectedIdentifier",
        "incorrectResponse",
        "dns",
        "connection",
        "caa",
        "tls",
        "unsupportedIdentifier",
    }
)
_REQUEST_CODES = frozenset({"malformed", "badCSR", "badSignatureAlgorithm", "badPublicKey"})


def describe_problem(problem: Any) -> str:
    """``code: detail`` for an ACME problem document, with its sub-problems."""
    code = getattr(problem, "code", None) or "error"
    detail = " ".join(str(getattr(problem, "detail", "") or "").split())
    text = f"{code}: {detail}" if detail else str(code)
    subs = getattr(problem, "subproblems", None) or ()
    extra = []
    for sub in subs:
        ident = getattr(getattr(sub, "identifier", None), "value", None)
        extra.append(f"{ident}: {describe_problem(sub)}" if ident else describe_problem(sub))
    return f"{text} ({'; '.join(extra)})" if extra else text


def problem_error(
    problem: Any, identities: Sequence[str], url: str, retry_after: float | None = None
) -> IssuanceError:
    """The tlsprov error for an ACME problem document about ``identities``."""
    code = getattr(problem, "code", None)
    ident = getattr(getattr(problem, "identifier", None), "value", None)
    names = [ident] if ident else list(identities)
    who = ", ".join(names)
    text = describe_problem(problem)
    if code == "rateLimited":
        retry = retry_after
        when = f"retry after {retry:g} s" if retry else "retry later"
        return RateLimited(
            f"the CA at {url} rate-limited the request for {who}: {text}",
            retry_after=retry,
            hint=f"{when}; test with the staging directory meanwhile",
        )
    if code == "rejectedIdentifier":
        return ChallengeFailed(
            f"the CA refused {who}: {text}",
            identities=names,
            hint="the CA's policy forbids this name; remove it from the request",
        )
    if code in _CHALLENGE_CODES:
        return ChallengeFailed(
            f"the CA refused {who}: {text}",
            identities=names,
            hint="check that the name is public, resolves to this host and is spelled right",
        )
    if code in _REQUEST_CODES:
        return IssuanceError(
            f"the CA rejected the request for {who}: {text}",
            hint="check the names and key type; run with -v for the ACME exchange",
        )
    return IssuanceError(
        f"the CA at {url} refused the request for {who}: {text}",
        hint="run with -v for the ACME exchange",
    )


@contextlib.contextmanager
def acme_errors(url: str, identities: Sequence[str] = (), net: Any = None) -> Iterator[None]:
    """Map exceptions raised inside the block to tlsprov errors (always ``raise ... from``).

    Args:
        url: the ACME directory URL, named in connection errors.
        identities: the names being certified, named in the messages.
        net: the client network; its ``last_retry_after`` feeds ``RateLimited.retry_after``.
    """
    import requests
    from acme import errors as acme_errors_mod
    from acme import messages

    who = ", ".join(identities) or "the request"
    try:
        yield
    except TlsprovError:
        raise
    except messages.Error as exc:
        retry = getattr(net, "last_retry_after", None)
        raise problem_error(exc, identities, url, retry) from exc
    except acme_errors_mod.ValidationError as exc:
        details = []
        for authzr in exc.failed_authzrs:
            name = authzr.body.identifier.value
            probs = [describe_problem(c.error) for c in authzr.body.challenges if c.error]
            details.append(f"{name}: {'; '.join(probs) or 'invalid'}")
        names = [a.body.identifier.value for a in exc.failed_authzrs]
        raise ChallengeFailed(
            f"the CA could not validate {'; '.join(details)}",
            identities=names,
            hint="check that each name resolves to this host and the challenge is reachable",
        ) from exc
    except (acme_errors_mod.TimeoutError, TimeoutError) as exc:
        raise IssuanceError(
            f"the CA did not finish {who} in time",
            hint="raise the timeout option or try again later",
        ) from exc
    except requests.exceptions.SSLError as exc:
        raise IssuanceError(
            f"cannot reach the ACME server at {url}: its TLS certificate is not trusted",
            hint="for a private ACME server pass --ca-bundle with its CA certificate",
        ) from exc
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise IssuanceError(
            f"cannot reach the ACME server at {url}",
            hint="check the URL, the network and any proxy, then try again",
        ) from exc
    except requests.exceptions.RequestException as exc:
        raise IssuanceError(
            f"the request to the ACME server at {url} failed: {type(exc).__name__}",
            hint="check the URL and try again",
        ) from exc
    except ValueError as exc:
        if str(exc).startswith("Requesting"):
            raise IssuanceError(
                f"cannot reach the ACME server at {url}",
                hint="check the URL, the network and any proxy, then try again",
            ) from exc
        raise
    except (KeyError, TypeError, AttributeError) as exc:
        # the library read a field the server's JSON lacks: not an ACME server (or a broken one)
        raise IssuanceError(
            f"the server at {url} did not answer like an ACME server ({type(exc).__name__}: {exc})",
            hint="check the directory URL (it ends in /directory or /dir on most servers)",
        ) from exc
    except acme_errors_mod.Error as exc:
        raise IssuanceError(
            f"the ACME exchange with {url} failed for {who}: {type(exc).__name__}: {exc}",
            hint="run with -v for the ACME exchange",
        ) from exc
