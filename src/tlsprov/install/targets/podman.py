"""The ``podman`` target: ``/etc/containers/certs.d/<host:port>/`` (podman, skopeo, buildah)."""

from __future__ import annotations

from pathlib import PurePosixPath

from tlsprov.install.targets._common import (
    BuiltinTarget,
    certs_d_folder,
    client_pair_writes,
    stray_file_warnings,
)
from tlsprov.models import FileWrite, InstallContext, IssuedBundle, Plan

__all__ = ["PodmanTarget"]

CERTS_D = PurePosixPath("/etc/containers/certs.d")


class PodmanTarget(BuiltinTarget):
    """The containers/image trust folder shared by podman, skopeo, buildah and CRI-O."""

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` (plus ``client.cert``/``client.key`` for mutual TLS).

        Raises:
            InputError: the client bundle is not a clientAuth certificate.
        """
        folder = certs_d_folder(CERTS_D, context, tool="podman")
        writes: list[FileWrite] = [
            FileWrite(
                path=folder / "ca.crt",
                content=bundle.ca_pem,
                mode=0o644,
                dir_mode=0o700 if context.client_bundle else 0o755,
                description="the CA podman and skopeo trust for this registry",
            )
        ]
        if context.client_bundle is not None:
            writes.extend(client_pair_writes(context.client_bundle, folder, tool="podman"))
        warnings = stray_file_warnings(
            context, folder, (w.path.name for w in writes), tool="podman"
        )
        return Plan(
            target="podman",
            writes=tuple(writes),
            warnings=tuple(warnings),
            notes=(
                "no restart needed: containers/image reads certs.d whenever it connects; a "
                f"user's ~/.config/containers/certs.d/{context.registry} folder would take "
                "precedence",
            ),
        )
