"""The state folder: certificate lineages with their previous versions, and the action log.

Layout under the state folder::

    live/<H>/        H.key H.crt H.cert ca.crt chain.pem meta.json   the version in use
    archive/<H>/<n>/ the same files for each earlier version (n = 1, 2, ...)
    log.jsonl        one JSON line per action (provision, renew, rollback), no key material

``meta.json`` holds everything ``tlsprov status`` shows, so status never parses certificates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tlsprov.errors import InputError, InstallError, RollbackError
from tlsprov.fsops import PRIVATE_DIR, atomic_write, ensure_dir, refuse_symlinks
from tlsprov.models import IssuedBundle
from tlsprov.pki.bundleio import bundle_basename, read_bundle, write_bundle
from tlsprov.pki.x509 import fingerprint, load_cert, now_utc, san_identities

__all__ = ["LineageMeta", "StateStore", "journal_labels", "rollback_lineage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LineageMeta:
    """What the state folder knows about one managed certificate.

    ``profile`` is the ACME profile the certificate was ordered with (``shortlived``...), empty
    when none was asked for.
    """

    name: str
    provider: str
    names: tuple[str, ...]
    not_before: str
    not_after: str
    serial: str
    fingerprint_sha256: str
    version: int = 1
    targets: tuple[str, ...] = ()
    issued_at: str = ""
    last_action: str = ""
    last_outcome: str = ""
    last_action_at: str = ""
    profile: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_bundle(
        cls, name: str, provider: str, bundle: IssuedBundle, **fields: Any
    ) -> LineageMeta:
        """Describe ``bundle``'s leaf."""
        leaf = load_cert(bundle.leaf_pem)
        dns, ips = san_identities(leaf)
        return cls(
            name=name,
            provider=provider,
            names=tuple(dns) + tuple(str(ip) for ip in ips),
            not_before=leaf.not_valid_before_utc.isoformat(),
            not_after=leaf.not_valid_after_utc.isoformat(),
            serial=format(leaf.serial_number, "x"),
            fingerprint_sha256=fingerprint(leaf),
            issued_at=now_utc().isoformat(timespec="seconds"),
            **fields,
        )

    @property
    def not_after_dt(self) -> dt.datetime:
        """``not_after`` as an aware datetime."""
        return dt.datetime.fromisoformat(self.not_after)

    def days_left(self, now: dt.datetime | None = None) -> float:
        """Days until the certificate expires (negative once expired)."""
        return (self.not_after_dt - (now or now_utc())).total_seconds() / 86400

    @property
    def not_before_dt(self) -> dt.datetime:
        """``not_before`` as an aware datetime."""
        return dt.datetime.fromisoformat(self.not_before)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["names"] = list(self.names)
        data["targets"] = list(self.targets)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineageMeta:
        """Parse :meth:`to_json` output."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["names"] = tuple(known.get("names", ()))
        known["targets"] = tuple(known.get("targets", ()))
        return cls(**known)


class StateStore:
    """The state folder of one root (``/var/lib/tlsprov`` by default)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir

    def live_dir(self, name: str) -> Path:
        """The folder of the version in use."""
        return self.dir / "live" / bundle_basename(name)

    def archive_dir(self, name: str) -> Path:
        """The folder holding earlier versions."""
        return self.dir / "archive" / bundle_basename(name)

    def load(self, name: str) -> tuple[IssuedBundle, LineageMeta] | None:
        """The live bundle and its metadata, or ``None`` when there is none.

        Raises:
            InputError: the live files are broken; the hint says how to set them aside.
        """
        folder = self.live_dir(name)
        meta = self.meta(name)
        if meta is None:
            return None
        try:
            return read_bundle(folder, name), meta
        except InputError as exc:
            aside = self.dir / f"{bundle_basename(name)}.broken"
            raise InputError(
                f"the stored certificate in {folder} is broken ({exc.message})",
                hint=f"move it aside with 'mv {folder} {aside}', then run the command again "
                "to issue a new certificate",
            ) from exc

    def meta(self, name: str) -> LineageMeta | None:
        """Only the metadata of the live version."""
        folder = self.live_dir(name)
        if not folder.exists() and folder.parent.is_dir():
            self._settle(name)
        return self._read_meta(folder / "meta.json")

    def _read_meta(self, path: Path) -> LineageMeta | None:
        try:
            return LineageMeta.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"state file {path} is unreadable or corrupt ({exc})",
                hint="restore it from a backup or remove that lineage folder",
            ) from exc

    def save(self, name: str, bundle: IssuedBundle, meta: LineageMeta) -> LineageMeta:
        """Archive the live version (if any) and make ``bundle`` the live one."""
        previous = self.meta(name)
        version = 1
        if previous is not None:
            version = previous.version + 1
            dest = self.archive_dir(name) / str(previous.version)
            try:
                if dest.exists():
                    shutil.rmtree(dest)
                ensure_dir(dest.parent, PRIVATE_DIR)
                shutil.copytree(self.live_dir(name), dest)
                os.chmod(dest, PRIVATE_DIR)
            except OSError as exc:
                raise InstallError(
                    f"could not archive version {previous.version} of {name} in {dest}: "
                    f"{exc.strerror or exc}",
                    hint="free space or fix the state folder, then run again",
                ) from exc
        meta = replace(meta, version=version)
        self._write_live(name, bundle, meta)
        return meta

    def _write_live(self, name: str, bundle: IssuedBundle, meta: LineageMeta) -> None:
        """Make ``bundle`` the live version as a whole: written complete into a side folder,
        then swapped in by two renames (:meth:`_settle` finishes a swap a kill cut short), so
        the live key and certificate always belong together."""
        folder = self.live_dir(name)
        refuse_symlinks(folder, stop=self.dir)
        ensure_dir(self.dir, PRIVATE_DIR)
        self._settle(name)
        new, old = _side(folder, "new"), _side(folder, "old")
        if new.exists():
            shutil.rmtree(new)
        write_bundle(new, name, bundle)
        atomic_write(new / "chain.pem", b"".join(bundle.chain_pem))
        atomic_write(new / "meta.json", _meta_bytes(meta), dir_mode=PRIVATE_DIR)
        try:
            if folder.exists():
                os.replace(folder, old)
            os.replace(new, folder)
        except OSError as exc:
            raise InstallError(
                f"could not make the new version of {name} live in {folder.parent}: "
                f"{exc.strerror or exc}",
                hint="fix the state folder, then run again (the previous version is kept)",
            ) from exc
        shutil.rmtree(old, ignore_errors=True)

    def _settle(self, name: str) -> None:
        """Finish a swap of the live version that a kill interrupted."""
        folder = self.live_dir(name)
        new, old = _side(folder, "new"), _side(folder, "old")
        if not folder.exists():
            if (new / "meta.json").is_file():
                os.replace(new, folder)  # written completely: the swap was under way
            elif old.is_dir():
                os.replace(old, folder)
        if folder.exists():
            for leftover in (new, old):
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)

    def paths(self, name: str) -> dict[str, Path]:
        """The live files hooks are told about: cert (leaf+chain), key, chain, ca."""
        folder = self.live_dir(name)
        stem = bundle_basename(name)
        return {
            "cert": folder / f"{stem}.crt",
            "key": folder / f"{stem}.key",
            "chain": folder / "chain.pem",
            "ca": folder / "ca.crt",
        }

    def write_meta(self, name: str, meta: LineageMeta) -> None:
        """Replace the live version's metadata (outcomes, targets)."""
        atomic_write(self.live_dir(name) / "meta.json", _meta_bytes(meta), dir_mode=PRIVATE_DIR)

    def restore_previous(self, name: str) -> LineageMeta:
        """Make the newest archived version live again (after a failed renewal).

        Raises:
            RollbackError: there is no earlier version.
        """
        current = self.meta(name)
        if current is None or current.version <= 1:
            raise RollbackError(
                f"no earlier version of {name} to return to",
                hint="run 'tlsprov provision' to issue a new certificate",
            )
        source = self.archive_dir(name) / str(current.version - 1)
        old_meta = self._read_meta(source / "meta.json")
        if old_meta is None:
            raise RollbackError(f"archived version {source} is incomplete")
        bundle = read_bundle(source, name)
        self._write_live(name, bundle, old_meta)
        shutil.rmtree(source)
        return old_meta

    def names(self) -> Iterator[str]:
        """Every lineage name (file stems), sorted."""
        live = self.dir / "live"
        if not live.is_dir():
            return iter(())
        return iter(
            sorted(
                entry.name
                for entry in os.scandir(live)
                if entry.is_dir() and not entry.name.startswith(".")
            )
        )

    def all_meta(self) -> Iterator[LineageMeta]:
        """Metadata of every lineage (fast: reads only meta.json files)."""
        for stem in self.names():
            meta = self._read_meta(self.dir / "live" / stem / "meta.json")
            if meta is not None:
                yield meta

    def log(self, action: str, **fields: Any) -> None:
        """Append one line to the action log."""
        ensure_dir(self.dir, PRIVATE_DIR)
        entry = {"at": now_utc().isoformat(timespec="seconds"), "action": action, **fields}
        with (self.dir / "log.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")


def _side(folder: Path, kind: str) -> Path:
    """``live/.<H>.tlsprov-new`` (being written) or ``live/.<H>.tlsprov-old`` (being replaced)."""
    return folder.with_name(f".{folder.name}.tlsprov-{kind}")


def _meta_bytes(meta: LineageMeta) -> bytes:
    return json.dumps(meta.to_json(), indent=2, sort_keys=True).encode() + b"\n"


def journal_labels(name: str, meta: LineageMeta, *, issued: bool) -> dict[str, str]:
    """What an install journal notes about the lineage version it installs: ``meta`` is the
    new version (``issued``) or, for a reused certificate, the metadata before this run."""
    return {
        "lineage": name,
        "lineage_version": str(meta.version),
        "lineage_issued": "yes" if issued else "no",
        "lineage_meta": "" if issued else json.dumps(meta.to_json(), sort_keys=True),
    }


def rollback_lineage(journal: Any) -> tuple[str, ...]:
    """Rollback hook: put the lineage back to where it was before the rolled-back install.

    A version the install issued goes back to the archived one before it (a first version is
    moved to ``archive/<H>/rolled-back-<backup>``, never deleted); a reused one gets its
    previous metadata back. Nothing is touched when the lineage has moved on since.
    """
    labels: dict[str, str] = journal.labels
    name = labels.get("lineage")
    if not name:
        return ()
    store = StateStore(Path(journal.folder).parent.parent)
    current = store.meta(name)
    version = int(labels.get("lineage_version", "0"))
    if current is None or current.version != version:
        now = "none" if current is None else f"version {current.version}"
        return (f"the lineage of {name} is at {now}, not {version}: left as it is",)
    if labels.get("lineage_issued") == "yes" and version == 1:
        aside = store.archive_dir(name) / f"rolled-back-{Path(journal.folder).name}"
        ensure_dir(aside.parent, PRIVATE_DIR)
        os.replace(store.live_dir(name), aside)
        store.log("rollback", hostname=name, outcome="ok", version=0)
        return (f"the lineage of {name} has no earlier version; its files are kept in {aside}",)
    if labels.get("lineage_issued") == "yes":
        meta = store.restore_previous(name)
    else:
        meta = LineageMeta.from_json(json.loads(labels.get("lineage_meta") or "{}"))
    meta = replace(
        meta,
        last_action="rollback",
        last_outcome="ok",
        last_action_at=now_utc().isoformat(timespec="seconds"),
    )
    store.write_meta(name, meta)
    store.log("rollback", hostname=name, outcome="ok", version=meta.version)
    return (f"the lineage of {name} is back at version {meta.version}",)


def _register() -> None:
    from tlsprov.install.rollback_hooks import add_rollback_hook

    add_rollback_hook(rollback_lineage)


_register()  # on import: whoever can roll back an install of a lineage has imported this
