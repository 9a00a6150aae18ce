"""The built-in installer targets, registered through the ``tlsprov`` entry-point group.

Each factory is the target class itself: it takes the target's settings (``[targets.NAME]`` in
tlsprov.toml, ``--target-option NAME.KEY=VALUE`` on ``install``) and keeps them as
``self.options`` (see ``BuiltinTarget`` in ``_common``). The built-in targets declare their
settings (none yet), so the host refuses unknown keys.
"""

from __future__ import annotations

from tlsprov.plugins.hookspecs import hookimpl
from tlsprov.plugins.specs import TargetSpec

__all__ = ["tlsprov_register_targets"]


@hookimpl
def tlsprov_register_targets() -> list[TargetSpec]:
    """Offer harbor, docker, containerd, podman and os-trust."""
    from tlsprov.install.targets.containerd import ContainerdTarget
    from tlsprov.install.targets.docker import DockerTarget
    from tlsprov.install.targets.harbor import HarborTarget
    from tlsprov.install.targets.ostrust import OSTrustTarget
    from tlsprov.install.targets.podman import PodmanTarget

    return [
        TargetSpec(
            name="harbor",
            factory=HarborTarget,
            options=(),
            description="Harbor's /data/cert files and harbor.yml, then prepare and compose",
        ),
        TargetSpec(
            name="docker",
            factory=DockerTarget,
            options=(),
            description="Docker's /etc/docker/certs.d/<registry>/ folder",
        ),
        TargetSpec(
            name="containerd",
            factory=ContainerdTarget,
            options=(),
            description="containerd's /etc/containerd/certs.d/<registry>/hosts.toml and ca.crt",
        ),
        TargetSpec(
            name="podman",
            factory=PodmanTarget,
            options=(),
            description="podman/skopeo's /etc/containers/certs.d/<registry>/ folder",
        ),
        TargetSpec(
            name="os-trust",
            factory=OSTrustTarget,
            options=(),
            description="the system CA store (Debian/Ubuntu, RHEL/Fedora, Arch, SUSE)",
        ),
    ]
