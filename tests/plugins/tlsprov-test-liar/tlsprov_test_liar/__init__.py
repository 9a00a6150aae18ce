"""A plugin that lies and crashes, so tlsprov's checks and error messages can be tested.

- provider ``liar``: returns the broken bundle its ``breakage`` option asks for (``key``,
  ``ca``, ``chain``, ``names``, ``expired``, ``usage``, ``type``), or raises where ``fail_in``
  says (``factory``, ``import``: an ImportError inside the factory, ``issue``). With
  ``TLSPROV_TEST_LIAR_FACTORY=import`` set, its factory always fails (``tlsprov plugins`` must
  mark it broken).
- target ``liar-target``: raises in ``plan`` (setting ``fail_in = "plan"``) or in its factory
  (``fail_in = "factory"``).
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any

import tlsprov

FACTORY_ENV = "TLSPROV_TEST_LIAR_FACTORY"
BREAKAGES = ("", "key", "ca", "chain", "names", "expired", "usage", "type")


def _make_provider(options: dict[str, Any]) -> tlsprov.Provider:
    fail_in = os.environ.get(FACTORY_ENV) or options["fail_in"]
    if fail_in == "import":
        import tlsprov_test_liar_missing_sdk  # type: ignore[import-not-found]  # noqa: F401
    if fail_in == "factory":
        raise RuntimeError("the liar's factory exploded")
    from tlsprov_test_liar._provider import LiarProvider

    return LiarProvider(breakage=options["breakage"], fail_in=fail_in)


class LiarTarget:
    """Plans one file, or raises in ``plan`` when asked to."""

    def __init__(self, settings: dict[str, Any]) -> None:
        if settings["fail_in"] == "factory":
            raise ValueError("the liar target's factory exploded")
        self.fail_in = settings["fail_in"]

    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        if self.fail_in == "plan":
            raise KeyError("the liar target lost its plan")
        return tlsprov.Plan(
            target="liar-target",
            writes=(
                tlsprov.FileWrite(
                    path=PurePosixPath("/etc/tlsprov-liar/ca.crt"), content=bundle.ca_pem
                ),
            ),
        )


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Offer ``liar``."""
    return [
        tlsprov.ProviderSpec(
            name="liar",
            factory=_make_provider,
            description="returns broken bundles and raises on request (tlsprov's tests)",
            options=(
                tlsprov.OptionSpec(
                    name="breakage", default="", help=f"what to break: {', '.join(BREAKAGES[1:])}"
                ),
                tlsprov.OptionSpec(
                    name="fail_in", default="", help="raise in: factory, import, issue"
                ),
            ),
        )
    ]


@tlsprov.hookimpl
def tlsprov_register_targets() -> list[tlsprov.TargetSpec]:
    """Offer ``liar-target``."""
    return [
        tlsprov.TargetSpec(
            name="liar-target",
            factory=LiarTarget,
            description="raises on request (tlsprov's tests)",
            options=(tlsprov.OptionSpec(name="fail_in", default="", help="factory or plan"),),
        )
    ]
