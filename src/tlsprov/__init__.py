"""tlsprov: real HTTPS for a Harbor registry, end to end.

Public API::

    import tlsprov
    provider = tlsprov.get_provider("selfsigned", ca_dir="ca")
    bundle = provider.issue(tlsprov.make_request(["harbor.test", "127.0.0.1"]))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the real homes; at run time these load on first use (PEP 562)
    from tlsprov.lifecycle.config import Config, load_config
    from tlsprov.lifecycle.provision import provision
    from tlsprov.lifecycle.renewal import renew
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

# name -> module: only errors load with ``import tlsprov``; the rest on first use, so a plugin's
# import and ``tlsprov --help`` stay light.
_LAZY = {
    "Config": "tlsprov.lifecycle.config",
    "load_config": "tlsprov.lifecycle.config",
    "provision": "tlsprov.lifecycle.provision",
    "renew": "tlsprov.lifecycle.renewal",
    "status": "tlsprov.lifecycle.status",
    "CertificateRequest": "tlsprov.models",
    "CommandStep": "tlsprov.models",
    "FileWrite": "tlsprov.models",
    "InstallContext": "tlsprov.models",
    "IssuedBundle": "tlsprov.models",
    "KeyType": "tlsprov.models",
    "Plan": "tlsprov.models",
    "Usage": "tlsprov.models",
    "read_bundle": "tlsprov.pki.bundleio",
    "write_bundle": "tlsprov.pki.bundleio",
    "make_request": "tlsprov.pki.x509",
    "parse_identity": "tlsprov.pki.x509",
    "hookimpl": "tlsprov.plugins.hookspecs",
    "CAInfo": "tlsprov.plugins.interfaces",
    "CAManager": "tlsprov.plugins.interfaces",
    "Provider": "tlsprov.plugins.interfaces",
    "Target": "tlsprov.plugins.interfaces",
    "Registry": "tlsprov.plugins.registry",
    "get_provider": "tlsprov.plugins.registry",
    "OptionSpec": "tlsprov.plugins.specs",
    "ProviderSpec": "tlsprov.plugins.specs",
    "TargetSpec": "tlsprov.plugins.specs",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tlsprov")
        except PackageNotFoundError:
            return "0+unknown"
    raise AttributeError(f"module 'tlsprov' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
