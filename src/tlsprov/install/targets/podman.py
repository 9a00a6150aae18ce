"""The ``podman`` target: ``/etc/containers/certs.d/<host:port>/`` (podman, skopeo, buildah).

Same folder rules as the docker target: ``ca.crt`` and an optional client pair, Harbor's server
pair only with ``server_pair = true`` and never beside a client pair (containers/image offers
every ``.cert``/``.key`` pair as a client certificate, exactly as Docker does).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from tlsprov.install.targets._common import BuiltinTarget, certs_d_folder
from tlsprov.install.targets.docker import certs_d_plan_parts, server_pair_option
from tlsprov.models import InstallContext, IssuedBundle, Plan

__all__ = ["PodmanTarget"]

CERTS_D = PurePosixPath("/etc/containers/certs.d")


class PodmanTarget(BuiltinTarget):
    """The containers/image trust folder shared by podman, skopeo, buildah and CRI-O."""

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        """``options``: the ``[targets.podman]`` table (``server_pair``, default false).

        Raises:
            ConfigError: an unknown option or a ``server_pair`` that is not a boolean.
        """
        super().__init__(options)
        self.server_pair = server_pair_option(self.options, "podman")

    def plan(self, bundle: IssuedBundle, context: InstallContext) -> Plan:
        """Plan ``ca.crt`` (plus ``client.cert``/``client.key`` for mutual TLS).

        Raises:
            InputError: the client bundle is not a clientAuth certificate, or it was given
                together with ``server_pair``.
        """
        folder = certs_d_folder(CERTS_D, context, tool="podman")
        writes, warnings, notes = certs_d_plan_parts(
            bundle, context, folder, tool="podman", server_pair=self.server_pair
        )
        notes.append(
            "no restart needed: containers/image reads certs.d whenever it connects; a "
            f"user's ~/.config/containers/certs.d/{context.registry} folder would take "
            f"precedence, and this folder shadows /etc/docker/certs.d/{context.registry}"
        )
        return Plan(
            target="podman",
            writes=tuple(writes),
            warnings=tuple(warnings),
            notes=tuple(notes),
        )
