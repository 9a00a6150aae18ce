"""Fixtures shared by the whole suite.

Every test gets a fresh process-wide registry: a test that changes the environment (for example
``TLSPROV_DISABLE_PLUGINS``) or registers plugins cannot leak into the next one.

``scripts/test`` runs the suite on two pytest-xdist workers. The scheduler below keeps the tests
of ``tests/acme`` and ``tests/e2e`` on one worker, so that worker alone starts their session-wide
servers and daemons (Pebble and its DNS, the registry, skopeo, Docker, containerd, podman); every
other module is a unit of its own, so its module-scoped fixtures (sshd, PowerDNS, the bench
smoke run) start once. Suites elsewhere that load those harnesses start their own copies on
whichever worker runs them, on their own free ports, as they would when run alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tlsprov.plugins.registry
from tlsprov.plugins.loader import load_plugins
from tlsprov.plugins.registry import Registry

_SERVER_FOLDERS = ("tests/acme/", "tests/e2e/")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Schedule by module, with the two server folders as one unit (see above)."""
    from xdist.scheduler import LoadScopeScheduling

    class ServersTogether(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(_SERVER_FOLDERS):
                return "servers"
            return nodeid.split("::", 1)[0]

    return ServersTogether(config, log)


@pytest.fixture(autouse=True)
def _reset_default_registry() -> Iterator[None]:
    tlsprov.plugins.registry._default = None
    yield
    tlsprov.plugins.registry._default = None


@pytest.fixture
def fresh_registry() -> Registry:
    """A registry over the installed plugins, loaded anew for this test."""
    return Registry(load_plugins())
