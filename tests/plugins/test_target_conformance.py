"""``tlsprov.testing.check_target_conformance``: it passes real targets and catches each rule."""

from __future__ import annotations

import itertools
import re
from pathlib import Path, PurePosixPath

import pytest

import tlsprov
from tlsprov.plugins.loader import load_plugins
from tlsprov.plugins.registry import Registry
from tlsprov.testing import check_target_conformance


@pytest.fixture(scope="module")
def bundle() -> tlsprov.IssuedBundle:
    return (
        Registry(load_plugins())
        .get_provider("test-good")
        .issue(tlsprov.make_request(["harbor.test"]))
    )


@pytest.mark.parametrize("name", ["docker", "containerd", "podman", "test-target", "test-settings"])
def test_real_targets_conform(name: str, bundle: tlsprov.IssuedBundle, tmp_path: Path) -> None:
    target = Registry(load_plugins()).get_target(name)
    context = tlsprov.InstallContext(root=tmp_path, host="harbor.test", port=8443)
    plan = check_target_conformance(target, bundle, context)
    assert plan.writes
    assert list(tmp_path.iterdir()) == []


class _Writes:
    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        context.host_path("/etc/oops").write_text("written while planning")
        return tlsprov.Plan(target="x")


class _Unmarked:
    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        path = PurePosixPath("/etc/x/h.key")
        return tlsprov.Plan(
            target="x", writes=(tlsprov.FileWrite(path=path, content=bundle.private_key_pem),)
        )


class _Escapes:
    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        link = context.host_path("/etc/out")
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/tmp")
        path = PurePosixPath("/etc/out/ca.crt")
        return tlsprov.Plan(target="x", writes=(tlsprov.FileWrite(path=path, content=b"ca"),))


class _Drifts:
    def __init__(self) -> None:
        self.counter = itertools.count()

    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> tlsprov.Plan:
        path = PurePosixPath(f"/etc/x/{next(self.counter)}.crt")
        return tlsprov.Plan(target="x", writes=(tlsprov.FileWrite(path=path, content=b"ca"),))


class _NoPlan:
    def plan(self, bundle: tlsprov.IssuedBundle, context: tlsprov.InstallContext) -> object:
        return {"writes": []}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (_Writes(), "plan() changed files under the root"),
        (_Unmarked(), "/etc/x/h.key holds the private key but is not marked secret"),
        (_Drifts(), "a second plan() differs from the first"),
        (_NoPlan(), "plan() returned dict, not a Plan"),
    ],
    ids=["writes", "unmarked-secret", "not-idempotent", "not-a-plan"],
)
def test_each_rule_is_caught(
    target: object, message: str, bundle: tlsprov.IssuedBundle, tmp_path: Path
) -> None:
    (tmp_path / "etc").mkdir()
    context = tlsprov.InstallContext(root=tmp_path, host="harbor.test")
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_target_conformance(target, bundle, context)  # type: ignore[arg-type]


def test_a_path_leaving_the_root_is_caught(bundle: tlsprov.IssuedBundle, tmp_path: Path) -> None:
    context = tlsprov.InstallContext(root=tmp_path / "root", host="harbor.test")
    (tmp_path / "root").mkdir()
    _Escapes().plan(bundle, context)  # make the link first: planning must then not change files
    with pytest.raises(AssertionError, match=re.escape("/etc/out/ca.crt leaves the root")):
        check_target_conformance(_Escapes(), bundle, context)
