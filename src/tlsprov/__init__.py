"""tlsprov: real HTTPS for a Harbor registry, end to end.

Public API::

    import tlsprov
    provider = tlsprov.get_provider("selfsigned", ca_dir="ca")
    bundle = provider.issue(tlsprov.make_request(["harbor.test", "127.0.0.1"]))
"""

from __future__ import annotations

from typing import Any

from tlsprov.errors import (
    ChallengeFailed,
    CommandError,
    ConfigError,
    InputError,
    InstallError,
    IssuanceError,
    LintError,
    LockedError,
    NameConflict,
    NotSupported,
    PluginError,
    PluginFailure,
    PluginLoadError,
    PolicyError,
    ProviderConflict,
    ProviderNotFound,
    RateLimited,
    RollbackError,
    TargetConflict,
    TargetNotFound,
    TlsprovError,
    UsageError,
    VerifyError,
)
from tlsprov.lifecycle.config import Config, load_config
from tlsprov.lifecycle.provision import provision
from tlsprov.lifecycle.status import status
from tlsprov.models import (
    CertificateRequest,
    CommandStep,
    FileWrite,
    InstallContext,
    IssuedBundle,
    KeyType,
    Plan,
    Usage,
)
from tlsprov.pki.bundleio import read_bundle, write_bundle
from tlsprov.pki.x509 import make_request, parse_identity
from tlsprov.plugins.hookspecs import hookimpl
from tlsprov.plugins.interfaces import CAInfo, CAManager, Provider, Target
from tlsprov.plugins.registry import Registry, get_provider
from tlsprov.plugins.specs import OptionSpec, ProviderSpec, TargetSpec

__all__ = [
    "CAInfo",
    "CAManager",
    "CertificateRequest",
    "ChallengeFailed",
    "CommandError",
    "CommandStep",
    "Config",
    "ConfigError",
    "FileWrite",
    "InputError",
    "InstallContext",
    "InstallError",
    "IssuanceError",
    "IssuedBundle",
    "KeyType",
    "LintError",
    "LockedError",
    "NameConflict",
    "NotSupported",
    "OptionSpec",
    "Plan",
    "PluginError",
    "PluginFailure",
    "PluginLoadError",
    "PolicyError",
    "Provider",
    "ProviderConflict",
    "ProviderNotFound",
    "ProviderSpec",
    "RateLimited",
    "Registry",
    "RollbackError",
    "Target",
    "TargetConflict",
    "TargetNotFound",
    "TargetSpec",
    "TlsprovError",
    "Usage",
    "UsageError",
    "VerifyError",
    "__version__",
    "get_provider",
    "hookimpl",
    "load_config",
    "make_request",
    "parse_identity",
    "provision",
    "read_bundle",
    "renew",
    "status",
    "write_bundle",
]

_LAZY = {
    "renew": ("tlsprov.lifecycle.renewal", "renew"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tlsprov")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'tlsprov' has no attribute {name!r}")
