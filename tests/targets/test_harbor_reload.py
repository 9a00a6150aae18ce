"""The harbor target's two paths: prepare (harbor.yml must change) and hitless renewal."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath

import pytest

from tlsprov.errors import CommandError, InputError
from tlsprov.install.engine import apply_install
from tlsprov.install.planning import assemble_plan
from tlsprov.install.targets.harbor import HarborTarget
from tlsprov.models import IssuedBundle
from tlsprov.runner import CommandRunner

CHECK = ("docker", "compose", "exec", "-T", "proxy", "sha256sum", "/etc/cert/server.crt")
RESTART = ("docker", "compose", "restart", "proxy")
RELOAD = ("docker", "compose", "exec", "-T", "proxy", "nginx", "-s", "reload")


@pytest.fixture
def prepared(harbor_install, ctx, bundle, put, root):  # type: ignore[no-untyped-def]
    """A Harbor already switched to HTTPS by tlsprov: harbor.yml edited, prepare ran."""
    yml = harbor_install("tmpl")
    plan = HarborTarget().plan(bundle, ctx())
    for write in plan.writes:
        put(str(write.path), write.content, write.mode)
    put("/data/secret/cert/server.crt", bundle.fullchain_pem, 0o600)
    put("/data/secret/cert/server.key", bundle.private_key_pem, 0o600)
    return yml


def test_renewal_with_harbor_yml_in_place_is_hitless(prepared, ctx, bundle_for, plan_of) -> None:
    new = bundle_for("harbor.test")
    plan = plan_of(HarborTarget(), new, ctx())
    assert [c.argv for c in plan.commands] == [CHECK, RESTART, RELOAD]
    check, restart, reload = plan.commands
    assert check.check_sha256_of == PurePosixPath("/data/secret/cert/server.crt")
    assert check.fallback_argv == ("docker", "exec", "nginx", "sha256sum", "/etc/cert/server.crt")
    assert restart.only_if_check_failed and "deleted folder" in restart.reason
    assert reload.fallback_argv == ("docker", "exec", "nginx", "nginx", "-s", "reload")
    writes = {str(w.path): w for w in plan.writes}
    for name, content in (("server.crt", new.fullchain_pem), ("server.key", new.private_key_pem)):
        w = writes[f"/data/secret/cert/{name}"]
        assert (w.content, w.mode, w.owner) == (content, 0o600, (10000, 10000))
    assert writes["/data/cert/harbor.test.crt"].content == new.fullchain_pem
    assert writes["/opt/harbor/harbor.yml"].content == prepared.read_bytes()  # unchanged
    assert any("not prepared again" in n for n in plan.notes)


def test_forced_prepare_and_changed_harbor_yml_take_the_prepare_path(
    prepared, ctx, bundle, plan_of
) -> None:
    forced = plan_of(HarborTarget(), bundle, ctx(harbor_reload="prepare"))
    assert forced.commands[0].argv == ("./prepare",)
    assert any('reload = "prepare"' in n and "internal secrets" in n for n in forced.notes)
    other_port = plan_of(HarborTarget(), bundle, ctx(port=8443))
    assert other_port.commands[0].argv == ("./prepare",)
    assert any("https.port is 443, not 8443" in n for n in other_port.notes), other_port.notes
    assert not any("secret/cert" in str(w.path) for w in other_port.writes)


def test_first_switch_runs_prepare(harbor_install, ctx, bundle, plan_of) -> None:
    harbor_install("tmpl")
    plan = plan_of(HarborTarget(), bundle, ctx())
    assert [c.argv[0] for c in plan.commands] == ["./prepare", "docker", "docker"]
    assert any("must change" in n for n in plan.notes), plan.notes


def test_no_served_pair_yet_runs_prepare(prepared, ctx, bundle, plan_of, root) -> None:
    (root / "data/secret/cert/server.crt").unlink()
    plan = plan_of(HarborTarget(), bundle, ctx())
    assert plan.commands[0].argv == ("./prepare",)
    assert any("server.crt does not exist yet" in n for n in plan.notes)


def test_unknown_reload_mode_is_refused(prepared, ctx, bundle) -> None:
    with pytest.raises(InputError, match="unknown Harbor reload mode 'fast'"):
        HarborTarget().plan(bundle, ctx(harbor_reload="fast"))


def test_mismatched_key_is_refused(prepared, ctx, bundle, bundle_for) -> None:
    other = bundle_for("harbor.test")
    mixed = IssuedBundle(
        private_key_pem=other.private_key_pem, leaf_pem=bundle.leaf_pem, ca_pem=bundle.ca_pem
    )
    with pytest.raises(InputError, match="does not belong"):
        HarborTarget().plan(mixed, ctx())


DOCKER = """#!/bin/sh
echo "$*" >> "{log}"
case "$*" in
  "compose version") exit 0 ;;
  *sha256sum*) [ -f "{stale}" ] && exit 1; sha256sum "{root}/data/secret/cert/server.crt" ;;
  *reload*) [ -f "{bad}" ] && {{ echo "nginx: [emerg] cannot load certificate"; exit 1; }} ;;
esac
exit 0
"""


def _engine(root: Path, tmp_path: Path) -> tuple[CommandRunner, Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.log"
    docker = bin_dir / "docker"
    docker.write_text(
        DOCKER.format(log=log, root=root, stale=tmp_path / "stale", bad=tmp_path / "bad")
    )
    docker.chmod(0o755)
    return CommandRunner(path=f"{bin_dir}:/usr/bin:/bin"), log


def _apply(plan, ctx, root: Path, runner: CommandRunner):  # type: ignore[no-untyped-def]
    install_plan = assemble_plan(dataclasses.replace(ctx(), runner=runner), [plan])
    return apply_install(install_plan, state_dir=root / "var/lib/tlsprov", runner=runner)


def test_engine_checks_repairs_only_when_needed_and_rolls_back_in_place(
    prepared, ctx, bundle_for, root, tmp_path
) -> None:
    runner, log = _engine(root, tmp_path)
    secret = root / "data/secret/cert"
    fresh = bundle_for("harbor.test")
    result = _apply(HarborTarget().plan(fresh, ctx()), ctx, root, runner)
    assert result.commands == (CHECK, RELOAD)  # the container saw the file: no restart
    assert (secret / "server.crt").read_bytes() == fresh.fullchain_pem
    assert (secret / "server.key").stat().st_uid == 10000

    (tmp_path / "stale").touch()  # the container holds a deleted folder
    stale = bundle_for("harbor.test")
    result = _apply(HarborTarget().plan(stale, ctx()), ctx, root, runner)
    assert result.commands == (CHECK, RESTART, RELOAD)
    (why,) = [n for n in result.notes if "restart proxy" in n]
    assert "does not show /data/secret/cert/server.crt (exit code 1)" in why
    (tmp_path / "stale").unlink()

    (tmp_path / "bad").touch()  # nginx refuses the files: everything goes back, in place
    before = (secret / "server.crt").read_bytes()
    inode = secret.stat().st_ino
    with pytest.raises(CommandError, match="rolled back"):
        _apply(HarborTarget().plan(bundle_for("harbor.test"), ctx()), ctx, root, runner)
    assert (secret / "server.crt").read_bytes() == before
    assert secret.stat().st_ino == inode
    calls = log.read_text().splitlines()
    assert calls[-2:] == [" ".join(CHECK[1:]), " ".join(RELOAD[1:])]  # re-run after restore
