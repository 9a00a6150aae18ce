"""Fixtures shared by the whole suite.

Every test gets a fresh process-wide registry: a test that changes the environment (for example
``TLSPROV_DISABLE_PLUGINS``) or registers plugins cannot leak into the next one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tlsprov.plugins.registry
from tlsprov.plugins.loader import load_plugins
from tlsprov.plugins.registry import Registry


@pytest.fixture(autouse=True)
def _reset_default_registry() -> Iterator[None]:
    tlsprov.plugins.registry._default = None
    yield
    tlsprov.plugins.registry._default = None


@pytest.fixture
def fresh_registry() -> Registry:
    """A registry over the installed plugins, loaded anew for this test."""
    return Registry(load_plugins())
