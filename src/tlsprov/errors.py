"""The tlsprov error tree.

Every error a user can cause or fix is a :class:`TlsprovError`. Its message is one line saying what
is wrong; :attr:`TlsprovError.hint` says what to do next. The CLI prints both on one line and exits
with :attr:`TlsprovError.exit_code`; it never prints a traceback for these.

::

    TlsprovError
    ├── UsageError            exit 2: bad command line, config or input
    │   ├── ConfigError       .source, .key
    │   ├── InputError        malformed PEM, key/cert mismatch, bad name, bad -subj
    │   ├── LintError         refused before anything is written (CN-only, ...)
    │   └── PolicyError       a plugin vetoed the request
    ├── PluginError           exit 2
    │   ├── PluginLoadError   .entry_point, .distribution
    │   ├── ProviderNotFound  .name, .available
    │   ├── TargetNotFound    .name, .available
    │   ├── NameConflict      .kind, .name, .sources
    │   │   ├── ProviderConflict
    │   │   └── TargetConflict
    │   ├── PluginFailure     exit 1: plugin code raised; .plugin, .source, .stage
    │   └── NotSupported
    ├── IssuanceError         exit 1
    │   ├── ChallengeFailed   .identities
    │   └── RateLimited       .retry_after
    └── InstallError          exit 1
        ├── CommandError      .argv, .returncode, .output_tail
        ├── VerifyError
        ├── RollbackError
        └── LockedError
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ChallengeFailed",
    "CommandError",
    "ConfigError",
    "InputError",
    "InstallError",
    "IssuanceError",
    "LintError",
    "LockedError",
    "NameConflict",
    "NotSupported",
    "PluginError",
    "PluginFailure",
    "PluginLoadError",
    "PolicyError",
    "ProviderConflict",
    "ProviderNotFound",
    "RateLimited",
    "RollbackError",
    "TargetConflict",
    "TargetNotFound",
    "TlsprovError",
    "UsageError",
    "VerifyError",
]


class TlsprovError(Exception):
    """Base of every tlsprov error; ``hint`` tells the user what to do next."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint joined into the single line the CLI prints."""
        text = self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return " ".join(text.split())


class UsageError(TlsprovError):
    """Bad command-line use, configuration or input (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """A configuration file or option is invalid."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        prefix = ": ".join(p for p in (source, key) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)
        self.source = source
        self.key = key


class InputError(UsageError):
    """Malformed PEM, a key that does not match, a bad name or subject, an unusable CA."""


class LintError(UsageError):
    """A certificate was refused by tlsprov's lint before anything was written."""

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems), hint=hint)


class PolicyError(UsageError):
    """A plugin's ``tlsprov_check_request`` hook refused the request."""


class PluginError(TlsprovError):
    """A plugin could not be loaded or found."""

    exit_code = 2


class PluginLoadError(PluginError):
    """An entry point of the ``tlsprov`` group failed to import or register."""

    def __init__(self, message: str, *, entry_point: str, distribution: str) -> None:
        super().__init__(
            message,
            hint=f"fix or uninstall the distribution '{distribution}', "
            "or block it with TLSPROV_DISABLE_PLUGINS",
        )
        self.entry_point = entry_point
        self.distribution = distribution


class ProviderNotFound(PluginError):
    """No installed plugin offers the requested provider name."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        choices = ", ".join(available) or "(none installed)"
        super().__init__(f"unknown provider '{name}'; choose one of: {choices}")
        self.name = name
        self.available = tuple(available)


class TargetNotFound(PluginError):
    """No installed plugin offers the requested installer target."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        choices = ", ".join(available) or "(none installed)"
        super().__init__(f"unknown target '{name}'; choose one of: {choices}")
        self.name = name
        self.available = tuple(available)


class NameConflict(PluginError):
    """Two plugins claim the same provider or target name; only that name is unusable."""

    def __init__(self, kind: str, name: str, sources: Sequence[str]) -> None:
        super().__init__(
            f"{kind} name '{name}' is claimed by more than one plugin: {' and '.join(sources)}",
            hint="uninstall one of them or block it with TLSPROV_DISABLE_PLUGINS",
        )
        self.kind = kind
        self.name = name
        self.sources = tuple(sources)


class ProviderConflict(NameConflict):
    """Two plugins claim the same provider name."""


class TargetConflict(NameConflict):
    """Two plugins claim the same installer target name."""


class PluginFailure(PluginError):
    """Plugin code raised an unexpected exception (a bug in that plugin, exit 1).

    ``stage`` is where: ``factory``, ``issue``, ``plan``, ``init_ca``, a hook name, ...
    The original exception is the ``__cause__``; the CLI shows its traceback under ``-v``.
    """

    exit_code = 1

    def __init__(self, *, plugin: str, source: str, stage: str, exc: BaseException) -> None:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        hint = f"a bug or a missing dependency in {source}: tell its authors"
        if isinstance(exc, ImportError):
            hint = f"a dependency of {source} is missing: install it or tell the plugin's authors"
        super().__init__(
            f"plugin '{plugin}' ({source}) failed in {stage}: {reason}",
            hint=f"{hint}, or block it with TLSPROV_DISABLE_PLUGINS={plugin}",
        )
        self.plugin = plugin
        self.source = source
        self.stage = stage


class NotSupported(PluginError):
    """The provider or target cannot do what was asked."""


class IssuanceError(TlsprovError):
    """The certificate authority did not issue the certificate."""


class ChallengeFailed(IssuanceError):
    """The CA could not validate control of one or more identities."""

    def __init__(self, message: str, *, identities: Sequence[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.identities = tuple(identities)


class RateLimited(IssuanceError):
    """The CA refused the request for now; retry after ``retry_after`` seconds if known."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class InstallError(TlsprovError):
    """Installing the certificate failed; the installer rolled back what it changed."""


class CommandError(InstallError):
    """An external command failed or timed out."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str],
        returncode: int | None,
        output_tail: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.output_tail = output_tail


class VerifyError(InstallError):
    """The installed certificate or the live endpoint failed verification."""


class RollbackError(InstallError):
    """Rolling back an installation failed or there was nothing to roll back."""


class LockedError(InstallError):
    """Another tlsprov run holds the lock on this root."""
