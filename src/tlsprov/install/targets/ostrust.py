"""The ``os-trust`` target: put the CA into the distribution's system trust store."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath

from tlsprov.errors import InputError
from tlsprov.install.targets._common import BuiltinTarget, read_host_text
from tlsprov.models import CommandStep, FileWrite, InstallContext, IssuedBundle, Plan
from tlsprov.pki.bundleio import bundle_basename

__all__ = ["FAMILIES", "OSTrustTarget", "TrustFamily", "detect_family"]

OS_RELEASE = PurePosixPath("/etc/os-release")


@dataclass(frozen=True, slots=True)
class TrustFamily:
    """Where one family of distributions keeps administrator CA anchors."""

    name: str
    ids: frozenset[str]
    anchor_dir: PurePosixPath
    suffix: str
    command: tuple[str, ...]  # the anchor's path is appended when it ends with "--store"


FAMILIES: tuple[TrustFamily, ...] = (
    TrustFamily(
        "Debian/Ubuntu",
        frozenset({"debian", "ubuntu"}),
        PurePosixPath("/usr/local/share/ca-certificates"),
        ".crt",
        ("update-ca-certificates",),
    ),
    TrustFamily(
        "RHEL/Fedora/CentOS",
        frozenset({"rhel", "fedora", "centos", "almalinux", "rocky"}),
        PurePosixPath("/etc/pki/ca-trust/source/anchors"),
        ".pem",
        ("update-ca-trust", "extract"),
    ),
    TrustFamily(
        "Arch",
        frozenset({"arch", "archlinux"}),
        PurePosixPath("/etc/ca-certificates/trust-source/anchors"),
        ".crt",
        ("trust", "anchor", "--store"),
    ),
    TrustFamily(
        "SUSE",
        frozenset({"suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "sled"}),
        PurePosixPath("/etc/pki/trust/anchors"),
        ".pem",
        ("update-ca-certificates",),
    ),
)


def _os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values


def detect_family(context: InstallContext) -> TrustFamily:
    """The trust-store family of the host, from ``ID`` then ``ID_LIKE`` in /etc/os-release.

    Raises:
        InputError: os-release is missing or names no supported family.
    """
    supported = ", ".join(f.name for f in FAMILIES)
    text = read_host_text(context, OS_RELEASE)
    if text is None:
        raise InputError(
            f"{OS_RELEASE} does not exist, so the OS trust store is unknown "
            f"(supported: {supported})",
            hint="drop the os-trust target and install the CA by hand",
        )
    info = _os_release(text)
    candidates = [info.get("ID", "").lower(), *info.get("ID_LIKE", "").lower().split()]
    for candidate in candidates:
        for family in FAMILIES:
            if candidate in family.ids:
                return family
    shown = info.get("ID", "?") + (f" (like {info['ID_LIKE']})" if info.get("ID_LIKE") else "")
    raise InputError(
        f"unsupported distribution {shown} for the os-trust target; supported families: "
        f"{supported}",
        hint="drop the os-trust target and install the CA by hand",
    )


class OSTrustTarget(BuiltinTarget):
    """The system CA store, used by curl, helm and (after a restart) dockerd and containerd."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan the CA anchor file and the distribution's update command.

        Raises:
            InputError: the distribution is not one the target supports.
        """
        family = detect_family(context)
        anchor = family.anchor_dir / f"tlsprov-{bundle_basename(context.host)}{family.suffix}"
        argv = family.command
        if argv[-1] == "--store":
            argv = (*argv, str(anchor))
        return Plan(
            target="os-trust",
            writes=(
                FileWrite(
                    path=anchor,
                    content=bundle.ca_pem,
                    mode=0o644,
                    description=f"the CA as a {family.name} trust anchor",
                ),
            ),
            commands=(
                CommandStep(argv=argv, reason=f"rebuild the {family.name} system trust store"),
            ),
            notes=(
                "dockerd and containerd read the system roots only at start: restart them to "
                "see a new OS trust anchor (certs.d needs no restart)",
            ),
        )
