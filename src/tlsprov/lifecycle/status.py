"""``status``: every managed certificate with its provider, names, days left and last outcome.

Reads only the small ``meta.json`` of each lineage, so it stays fast with many certificates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tlsprov.lifecycle.lineage import LineageMeta, StateStore
from tlsprov.pki.x509 import now_utc

if TYPE_CHECKING:
    from tlsprov.lifecycle.config import Config

__all__ = ["StatusEntry", "status", "status_of_state"]


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """One managed certificate as ``tlsprov status`` shows it."""

    meta: LineageMeta
    days_left: float

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        m = self.meta
        return {
            "name": m.name,
            "provider": m.provider,
            "names": list(m.names),
            "not_after": m.not_after,
            "days_left": round(self.days_left, 1),
            "targets": list(m.targets),
            "version": m.version,
            "last_action": m.last_action,
            "last_outcome": m.last_outcome,
            "last_action_at": m.last_action_at,
        }

    def line(self) -> str:
        """One human line."""
        m = self.meta
        when = f"{m.last_action} {m.last_outcome} at {m.last_action_at}" if m.last_action else "-"
        return (
            f"{m.name:<32} {m.provider:<12} {self.days_left:7.1f} days  "
            f"v{m.version:<3} {','.join(m.targets) or '-':<24} {when}"
        )


def status_of_state(state_dir: Path, now: dt.datetime | None = None) -> Iterator[StatusEntry]:
    """Every lineage in ``state_dir``, sorted by name."""
    moment = now or now_utc()
    for meta in StateStore(state_dir).all_meta():
        yield StatusEntry(meta=meta, days_left=meta.days_left(moment))


def status(config: Config) -> list[StatusEntry]:
    """Every certificate managed under ``config``'s state folder."""
    return list(status_of_state(config.state_path))
