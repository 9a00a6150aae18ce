"""Options for tlsprov's tests, written the way a plugin author would from docs/plugins.md.

- provider ``test-options``: declares nothing, so every option is passed through; with
  ``record = "/path.json"`` it writes the options it received there.
- provider ``test-declared``: declares typed options (the host checks them and fills defaults);
  it records them the same way.
- target ``test-settings``: a ``kubernetes.io/tls`` Secret manifest whose namespace and path
  come from ``[targets.test-settings]`` (a factory taking the settings dict).
- target ``test-zeroarg``: a factory that takes no argument, as targets were written before
  settings existed.

The providers issue from ``tlsprov_test_good``'s throwaway CA (that distribution is installed
beside this one).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path, PurePosixPath
from typing import Any

import tlsprov


def _record(options: dict[str, Any]) -> None:
    target = options.get("record")
    if isinstance(target, str):
        Path(target).write_text(json.dumps(options, sort_keys=True, default=repr), "utf-8")


def _make(options: dict[str, Any]) -> tlsprov.Provider:
    from tlsprov_test_good._provider import ThrowawayCAProvider

    _record(options)
    days = options.get("days", 30)
    return ThrowawayCAProvider(days=days if isinstance(days, int) else 30)


class SecretTarget:
    """Writes a ``kubernetes.io/tls`` Secret manifest (it holds the key: a secret file)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.namespace = settings["namespace"]
        self.path = PurePosixPath(settings["path"])
        self.labels = settings.get("labels", {})

    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        labels = "".join(f"    {k}: {json.dumps(str(v))}\n" for k, v in sorted(self.labels.items()))
        manifest = (
            "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\nmetadata:\n"
            f"  name: {context.host.replace('.', '-')}-tls\n  namespace: {self.namespace}\n"
            + (f"  labels:\n{labels}" if labels else "")
            + f"data:\n  tls.crt: {b64(bundle.fullchain_pem)}\n"
            f"  tls.key: {b64(bundle.private_key_pem)}\n  ca.crt: {b64(bundle.ca_pem)}\n"
        )
        return tlsprov.Plan(
            target="test-settings",
            writes=(
                tlsprov.FileWrite(
                    path=self.path,
                    content=manifest.encode("utf-8"),
                    secret=True,
                    description="the TLS Secret manifest",
                ),
            ),
            notes=(f"apply it with kubectl -n {self.namespace} apply -f {self.path}",),
        )


class ZeroArgTarget:
    """The CA only, under ``/etc/tlsprov-test-zeroarg/``; built without arguments."""

    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        return tlsprov.Plan(
            target="test-zeroarg",
            writes=(
                tlsprov.FileWrite(
                    path=PurePosixPath("/etc/tlsprov-test-zeroarg") / f"{context.host}-ca.crt",
                    content=bundle.ca_pem,
                    description="the CA",
                ),
            ),
        )


@tlsprov.hookimpl
def tlsprov_register_providers() -> list[tlsprov.ProviderSpec]:
    """Offer ``test-options`` (undeclared) and ``test-declared`` (declared options)."""
    return [
        tlsprov.ProviderSpec(
            name="test-options",
            factory=_make,
            description="records the options it gets (tlsprov's tests)",
        ),
        tlsprov.ProviderSpec(
            name="test-declared",
            factory=_make,
            description="declares its options (tlsprov's tests)",
            options=(
                tlsprov.OptionSpec(name="days", type=int, default=30, help="leaf validity"),
                tlsprov.OptionSpec(name="flag", type=bool, default=False, help="a switch"),
                tlsprov.OptionSpec(name="names", type=list, help="a list of strings"),
                tlsprov.OptionSpec(name="ratio", type=float, default=0.5, help="a number"),
                tlsprov.OptionSpec(name="label", type=str, help="a string"),
                tlsprov.OptionSpec(name="record", type=str, help="write the options here"),
            ),
        ),
    ]


@tlsprov.hookimpl
def tlsprov_register_targets() -> list[tlsprov.TargetSpec]:
    """Offer ``test-settings`` (with settings) and ``test-zeroarg`` (zero-argument factory)."""
    return [
        tlsprov.TargetSpec(
            name="test-settings",
            factory=SecretTarget,
            description="a kubernetes.io/tls Secret manifest (tlsprov's tests)",
            options=(
                tlsprov.OptionSpec(name="namespace", default="default", help="its namespace"),
                tlsprov.OptionSpec(
                    name="path",
                    default="/etc/tlsprov-test-settings/secret.yaml",
                    help="where the manifest goes",
                ),
                tlsprov.OptionSpec(name="labels", type=dict, help="metadata labels"),
            ),
        ),
        tlsprov.TargetSpec(
            name="test-zeroarg",
            factory=ZeroArgTarget,
            description="a factory without arguments (tlsprov's tests)",
        ),
    ]
