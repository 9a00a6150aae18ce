"""``renew``: renew what needs it, with hooks, reinstall, verify, and roll back on failure.

Safe to run from a timer every day: when nothing is due it changes nothing and runs no hook.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from tlsprov.errors import TlsprovError
from tlsprov.lifecycle.config import Config
from tlsprov.lifecycle.lineage import StateStore
from tlsprov.lifecycle.provision import (
    ProvisionResult,
    provider_options,
    provision,
    wants_new_certificate,
)
from tlsprov.pki.x509 import now_utc
from tlsprov.plugins.registry import Registry, default_registry
from tlsprov.runner import CommandRunner

__all__ = ["ari_says_renew", "renew"]

log = logging.getLogger("tlsprov")


def ari_says_renew(
    config: Config, cert_pem: bytes, registry: Registry, now: dt.datetime | None = None
) -> tuple[bool | None, str]:
    """Ask the provider's renewal information (ARI) when it offers any.

    Returns ``(None, why)`` when the provider or the CA has no ARI (the window then decides),
    else whether to renew now and why.
    """
    provider = registry.get_provider(
        config.provider_name, provider_options(config, registry), source=config.options_source
    )
    ask = provider.capability("renewal_info")
    if not callable(ask):
        return None, "the provider offers no renewal information"
    try:
        when = ask(cert_pem)
    except TlsprovError as exc:
        log.warning("renewal information unavailable (%s); using the renewal window", exc.message)
        return None, "renewal information unavailable"
    if not isinstance(when, dt.datetime):
        return None, "the CA offers no renewal information (ARI)"
    moment = now or now_utc()
    when_utc = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if when_utc <= moment:
        return (
            True,
            f"the CA's renewal information (ARI) says renew since {when_utc:%Y-%m-%d %H:%M}",
        )
    return False, f"the CA's renewal information (ARI) says renew after {when_utc:%Y-%m-%d %H:%M}"


def _hook_env(config: Config, store: StateStore, renewed: bool) -> dict[str, str]:
    name = config.harbor.hostname
    files = store.paths(name)
    return {
        "TLSPROV_HOSTNAME": name,
        "TLSPROV_CERT": str(files["cert"]),
        "TLSPROV_KEY": str(files["key"]),
        "TLSPROV_CHAIN": str(files["chain"]),
        "TLSPROV_CA": str(files["ca"]),
        "TLSPROV_RENEWED": "1" if renewed else "0",
    }


def _run_hook(which: str, command: str | None, env: dict[str, str], runner: CommandRunner) -> None:
    if not command:
        return
    log.info("running the %s hook: %s", which, command)
    hook_runner = CommandRunner(path=runner.path, timeout=runner.timeout, env={**runner.env, **env})
    hook_runner.run(("sh", "-c", command))


def renew(
    config: Config,
    *,
    force: bool = False,
    verify: bool | None = None,
    registry: Registry | None = None,
    runner: CommandRunner | None = None,
    lock_timeout: float = 0.0,
) -> ProvisionResult:
    """Renew the configured certificate when it is due (or ``force``), then reinstall and verify.

    Due means: no certificate yet, names or provider changed, ARI says so (ACME CAs that offer
    it), or less than ``[renew] before`` of its lifetime left (a third by default). Hooks: the
    pre hook runs before issuing, the deploy hook after a successful renewal, the post hook after
    every attempt; all get ``TLSPROV_HOSTNAME``, ``TLSPROV_CERT``, ``TLSPROV_KEY``,
    ``TLSPROV_CHAIN``, ``TLSPROV_CA`` and ``TLSPROV_RENEWED``.

    Raises:
        TlsprovError: issuing, installing, verifying or a hook failed; the installation and
            the lineage were rolled back to the previous version.
    """
    reg = registry or default_registry()
    run = runner or CommandRunner()
    store = StateStore(config.state_path)
    name = config.harbor.hostname
    existing = store.load(name)
    reason: str | None
    if force:
        reason = "forced"
    else:
        reason = wants_new_certificate(config, existing)
        if existing is not None and (reason is None or reason.startswith("inside the renewal")):
            ari, why = ari_says_renew(config, existing[0].leaf_pem, reg)
            if ari is True:
                reason = why
            elif ari is False:
                reason = None
    if reason is None and existing is not None:
        from tlsprov.lifecycle.rollover import provider_rollover_reason

        reason = provider_rollover_reason(config, existing[0], reg, provider_options(config, reg))
    if reason is None:
        assert existing is not None
        meta = existing[1]
        days = meta.days_left()
        store.log("renew", hostname=name, outcome="not due", days_left=round(days, 1))
        return ProvisionResult(
            hostname=name,
            provider=config.provider_name,
            issued=False,
            reason=f"not due: {days:.0f} days left; renews {config.renew.before.describe()} "
            "before expiry",
            changed=False,
            meta=meta,
        )
    _run_hook("pre", config.renew.pre_hook, _hook_env(config, store, False), run)
    try:
        result = provision(
            config,
            verify=verify,
            registry=reg,
            runner=run,
            force_issue=True,
            action="renew",
            lock_timeout=lock_timeout,
        )
    except TlsprovError:
        _post_hook_quietly(config, store, run)
        raise
    result = replace(result, reason=reason)
    deploy_error: TlsprovError | None = None
    try:
        _run_hook("deploy", config.renew.deploy_hook, _hook_env(config, store, True), run)
    except TlsprovError as exc:
        deploy_error = exc
    _run_hook("post", config.renew.post_hook, _hook_env(config, store, True), run)
    if deploy_error is not None:
        deploy_error.message = (
            f"renewed and installed, but the deploy hook failed: {deploy_error.message}"
        )
        raise deploy_error
    return result


def _post_hook_quietly(config: Config, store: StateStore, runner: CommandRunner) -> None:
    try:
        _run_hook("post", config.renew.post_hook, _hook_env(config, store, False), runner)
    except TlsprovError as exc:
        log.warning("the post hook failed too: %s", exc.one_line())
