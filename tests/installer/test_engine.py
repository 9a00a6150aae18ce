"""The install engine with ad-hoc targets: writes, modes, idempotency, dry run, backups,
rollback (on demand and automatic), symlink refusal, locking, and what output may show."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
import time
from pathlib import Path, PurePosixPath

import pytest

from tlsprov.errors import CommandError, InputError, LockedError, RollbackError, VerifyError
from tlsprov.install.engine import apply_install, plan_install, render_plan
from tlsprov.install.lockfile import hold_lock
from tlsprov.install.render import plan_to_json
from tlsprov.install.rollback import rollback_last
from tlsprov.models import CommandStep
from tlsprov.testing import tree_snapshot

KEY_DIR = "etc/demo/harbor.test:8443"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _key_body(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if not line.startswith("-----")]


def _install(bundle, context, registry, recorder, state_dir, targets=("demo",), **kw):
    plan = plan_install(bundle, context, list(targets), registry=registry)
    return plan, apply_install(plan, state_dir=state_dir, runner=recorder.runner(), **kw)


def test_install_writes_files_with_modes_and_runs_commands(
    bundle, context, demo_registry, recorder, state_dir, root, zero_umask
):
    plan, result = _install(bundle, context, demo_registry, recorder, state_dir)

    assert [a.action for a in plan.actions] == ["create", "create", "create"]
    assert (root / KEY_DIR / "ca.crt").read_bytes() == bundle.ca_pem
    assert (root / KEY_DIR / "server.key").read_bytes() == bundle.private_key_pem
    assert _mode(root / KEY_DIR / "server.key") == 0o600
    assert _mode(root / KEY_DIR) == 0o700  # holds a key
    assert _mode(root / "etc/demo") == 0o755
    assert _mode(root / KEY_DIR / "ca.crt") == 0o644
    assert _mode(root / "etc/demo.conf") == 0o640
    assert (root / "etc/demo.conf").read_text() == "server_name harbor.test\nport 8443\n"
    assert recorder.calls() == [["demo-reload", "now"]]
    assert result.changed
    assert set(result.changed_files) == {
        f"/{KEY_DIR}/ca.crt",
        f"/{KEY_DIR}/server.key",
        "/etc/demo.conf",
    }
    assert result.commands == (("demo-reload", "now"),)
    assert result.backup_dir is not None and result.backup_dir.parent == state_dir / "backups"
    manifest = json.loads((result.backup_dir / "manifest.json").read_text())
    assert manifest["status"] == "applied"
    assert {f["path"]: f["existed"] for f in manifest["files"]} == {
        f"/{KEY_DIR}/ca.crt": False,
        f"/{KEY_DIR}/server.key": False,
        "/etc/demo.conf": False,
    }
    assert [d["path"] for d in manifest["created_dirs"]] == ["/etc/demo", f"/{KEY_DIR}"]
    assert _mode(state_dir) == 0o700
    assert _mode(result.backup_dir) == 0o700


def test_second_identical_run_changes_nothing(
    bundle, context, demo_registry, recorder, state_dir, root
):
    _install(bundle, context, demo_registry, recorder, state_dir)
    before = tree_snapshot(root)
    backups = sorted((state_dir / "backups").iterdir())
    recorder.clear()

    plan, result = _install(bundle, context, demo_registry, recorder, state_dir)

    assert not plan.changed
    assert [a.action for a in plan.actions] == ["unchanged"] * 3
    assert not result.changed
    assert result.changed_files == ()
    assert result.commands == ()
    assert result.backup_dir is None
    assert recorder.calls() == []
    assert sorted((state_dir / "backups").iterdir()) == backups
    assert tree_snapshot(root) == before
    assert any("nothing to do" in n for n in result.notes)
    assert "nothing to do" in "\n".join(result.lines())
    assert render_plan(plan)[-1].startswith("nothing to do")


def test_mode_drift_alone_is_repaired(bundle, context, demo_registry, recorder, state_dir, root):
    _install(bundle, context, demo_registry, recorder, state_dir)
    (root / "etc/demo.conf").chmod(0o666)
    plan, result = _install(bundle, context, demo_registry, recorder, state_dir)
    assert [(a.path.name, a.action) for a in plan.actions if a.changed] == [
        ("demo.conf", "replace")
    ]
    assert _mode(root / "etc/demo.conf") == 0o640
    assert result.changed


def test_dry_run_touches_nothing_and_shows_the_plan(bundle, context, demo_registry, recorder, root):
    (root / "etc/demo.conf").write_text("server_name old.test\nport 8443\n")
    before = tree_snapshot(root)
    plan = plan_install(bundle, context, ["demo"], registry=demo_registry)

    result = apply_install(plan, dry_run=True, runner=recorder.runner())  # default state dir

    assert tree_snapshot(root) == before
    assert not (root / "var").exists()
    assert recorder.calls() == []
    assert not result.changed
    text = "\n".join(result.plan)
    assert "create folder /etc/demo/" in text
    assert f"create    /{KEY_DIR}/server.key  mode 0600" in text
    assert "(private key, not shown)" in text
    assert "replace   /etc/demo.conf  mode 0640 (now 0644)" in text
    assert "-server_name old.test" in text
    assert "+server_name harbor.test" in text
    assert "1. [demo] demo-reload now: the demo daemon re-reads" in text
    assert "demo note" in text
    for line in _key_body(bundle.private_key_pem):
        assert line not in text


def test_json_and_plan_never_show_key_material(
    bundle, context, demo_registry, recorder, state_dir, root
):
    (root / "etc/demo.conf").write_text("old\n")
    plan, result = _install(bundle, context, demo_registry, recorder, state_dir)
    dumped = json.dumps(plan_to_json(plan)) + json.dumps(result.to_json())
    dumped += "\n".join(render_plan(plan)) + repr(plan) + repr(result)
    for line in _key_body(bundle.private_key_pem):
        assert line not in dumped
    files = {f["path"]: f for f in plan_to_json(plan)["files"]}
    assert files[f"/{KEY_DIR}/server.key"]["secret"] is True
    assert files[f"/{KEY_DIR}/server.key"]["diff"] is None
    assert files["/etc/demo.conf"]["diff"] is not None
    # The backup of a replaced file and the manifest stay private.
    backup = result.backup_dir
    assert backup is not None
    assert _mode(backup / "manifest.json") == 0o600


def test_rollback_restores_byte_identical_files_and_removes_created_ones(
    bundle, context, demo_registry, recorder, state_dir, root
):
    conf = root / "etc/demo.conf"
    conf.write_bytes(b"user's own config\n")
    conf.chmod(0o604)
    before = tree_snapshot(root)
    _, result = _install(bundle, context, demo_registry, recorder, state_dir)
    assert conf.read_bytes() != b"user's own config\n"
    recorder.clear()

    undone = rollback_last(root, state_dir, runner=recorder.runner())

    assert tree_snapshot(root) == before
    assert undone.operation == "rollback"
    assert undone.changed
    assert undone.changed_files == ("/etc/demo.conf",)
    assert set(undone.removed_files) >= {f"/{KEY_DIR}/ca.crt", f"/{KEY_DIR}/server.key"}
    assert undone.commands == (("demo-reload", "now"),)
    assert recorder.calls() == [["demo-reload", "now"]]
    manifest = json.loads((result.backup_dir / "manifest.json").read_text())
    assert manifest["status"] == "rolled-back"
    with pytest.raises(RollbackError, match="nothing to roll back"):
        rollback_last(root, state_dir, runner=recorder.runner())


def test_rollback_takes_the_newest_install_first(
    ca, context, demo_registry, recorder, state_dir, root
):
    first = ca.bundle(["harbor.test"])
    second = ca.bundle(["harbor.test"])
    _install(first, context, demo_registry, recorder, state_dir)
    after_first = tree_snapshot(root)
    _install(second, context, demo_registry, recorder, state_dir)
    assert (root / KEY_DIR / "server.key").read_bytes() == second.private_key_pem

    rollback_last(root, state_dir, runner=recorder.runner())
    assert tree_snapshot(root) == after_first
    rollback_last(root, state_dir, runner=recorder.runner())
    assert not (root / "etc/demo").exists()


def test_rollback_with_nothing_installed(root, state_dir):
    with pytest.raises(RollbackError) as info:
        rollback_last(root, state_dir)
    assert info.value.hint and "install" in info.value.hint


def test_failing_command_rolls_everything_back(
    bundle, context, demo_registry, recorder, state_dir, root
):
    (root / "etc/demo.conf").write_text("keep me\n")
    before = tree_snapshot(root)
    recorder.env["TLSPROV_TEST_FAIL_DEMO_RELOAD"] = "3"

    plan = plan_install(bundle, context, ["demo"], registry=demo_registry)
    with pytest.raises(CommandError) as info:
        apply_install(plan, state_dir=state_dir, runner=recorder.runner())

    assert "exit code 3" in str(info.value)
    assert "rolled back" in str(info.value)
    assert tree_snapshot(root) == before
    # The command ran once, then once more (best effort) after the files were restored.
    assert recorder.calls() == [["demo-reload", "now"], ["demo-reload", "now"]]
    (backup,) = (state_dir / "backups").iterdir()
    assert json.loads((backup / "manifest.json").read_text())["status"] == "rolled-back"
    with pytest.raises(RollbackError):
        rollback_last(root, state_dir, runner=recorder.runner())


def test_failing_final_check_rolls_back(bundle, context, demo_registry, recorder, state_dir, root):
    before = tree_snapshot(root)

    def final_check() -> None:
        assert (root / KEY_DIR / "server.key").exists()  # the files are in place by now
        raise VerifyError("the endpoint did not answer")

    plan = plan_install(bundle, context, ["demo"], registry=demo_registry)
    with pytest.raises(VerifyError, match="did not answer; every change was rolled back"):
        apply_install(plan, state_dir=state_dir, runner=recorder.runner(), final_check=final_check)
    assert tree_snapshot(root) == before


def test_only_targets_with_changed_files_run_commands(
    bundle, context, demo_registry, recorder, state_dir, root
):
    _install(bundle, context, demo_registry, recorder, state_dir, targets=("demo",))
    recorder.clear()
    _, result = _install(
        bundle, context, demo_registry, recorder, state_dir, targets=("demo", "other")
    )
    assert result.changed_files == ("/srv/other/ca.pem",)
    assert recorder.calls() == [["demo-ctl", "other"]]


def test_always_steps_and_fallbacks(bundle, context, recorder, state_dir, root, kit):
    steps = (
        CommandStep(
            argv=("demo-ctl", "compose", "up"),
            probe_argv=("demo-ctl", "version"),
            fallback_argv=("demo-compose", "up"),
            reason="compose",
        ),
        CommandStep(
            argv=("not-installed-anywhere", "x"),
            fallback_argv=("demo-ctl", "fb"),
            reason="missing program",
        ),
        CommandStep(argv=("demo-ctl", "always"), always=True, reason="every run"),
    )
    registry = kit.make_registry(demo=lambda: kit.DemoTarget(steps))
    _install(bundle, context, registry, recorder, state_dir)
    assert recorder.calls() == [
        ["demo-reload", "now"],
        ["demo-ctl", "version"],
        ["demo-ctl", "compose", "up"],
        ["demo-ctl", "fb"],
        ["demo-ctl", "always"],
    ]
    recorder.clear()
    recorder.env["TLSPROV_TEST_FAIL_DEMO_CTL"] = "1"  # the probe fails now: fallback
    (root / "etc/demo.conf").write_text("drift\n")
    with pytest.raises(CommandError):  # "demo-ctl fb" fails too, so this run rolls back
        _install(bundle, context, registry, recorder, state_dir)
    assert recorder.calls()[:3] == [
        ["demo-reload", "now"],
        ["demo-ctl", "version"],
        ["demo-compose", "up"],
    ]
    assert (root / "etc/demo.conf").read_text() == "drift\n"
    recorder.clear()
    recorder.env.clear()
    (root / "etc/demo.conf").write_text("server_name harbor.test\nport 8443\n")
    (root / "etc/demo.conf").chmod(0o640)
    _, result = _install(bundle, context, registry, recorder, state_dir)
    assert not result.changed
    assert recorder.calls() == [["demo-ctl", "always"]]  # only the always step


@pytest.mark.parametrize("where", ["file", "parent"])
def test_symlink_at_a_planned_path_is_refused(
    bundle, context, demo_registry, recorder, state_dir, root, tmp_path, where
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ca.crt").write_text("outside\n")
    if where == "file":
        (root / KEY_DIR).mkdir(parents=True)
        (root / KEY_DIR / "ca.crt").symlink_to(outside / "ca.crt")
    else:
        (root / "etc/demo").symlink_to(outside)
    before, outside_before = tree_snapshot(root), tree_snapshot(outside)

    with pytest.raises(InputError, match="symbolic link"):
        plan_install(bundle, context, ["demo"], registry=demo_registry)
    assert tree_snapshot(root) == before
    assert tree_snapshot(outside) == outside_before
    assert recorder.calls() == []


def test_symlink_planted_after_planning_is_refused_before_any_write(
    bundle, context, demo_registry, recorder, state_dir, root, tmp_path
):
    plan = plan_install(bundle, context, ["demo"], registry=demo_registry)
    target = tmp_path / "elsewhere.conf"
    target.write_text("precious\n")
    (root / "etc/demo.conf").symlink_to(target)
    before = tree_snapshot(root)

    with pytest.raises(InputError, match="symbolic link"):
        apply_install(plan, state_dir=state_dir, runner=recorder.runner())
    assert tree_snapshot(root) == before
    assert target.read_text() == "precious\n"
    assert not (state_dir / "backups").exists()


def test_lock_held_by_another_run(bundle, context, demo_registry, recorder, state_dir, root):
    state_dir.mkdir(mode=0o700)
    lock = state_dir / "lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        plan = plan_install(bundle, context, ["demo"], registry=demo_registry)
        before = tree_snapshot(root)
        started = time.monotonic()
        with pytest.raises(LockedError, match="pid 4242"):
            apply_install(plan, state_dir=state_dir, runner=recorder.runner(), lock_timeout=0.3)
        assert time.monotonic() - started >= 0.3
        assert tree_snapshot(root) == before
        # Released while we wait: the install goes ahead.
        timer = threading.Timer(0.2, fcntl.flock, (fd, fcntl.LOCK_UN))
        timer.start()
        result = apply_install(plan, state_dir=state_dir, runner=recorder.runner(), lock_timeout=10)
        timer.join()
        assert result.changed
        fcntl.flock(fd, fcntl.LOCK_EX)
        after = tree_snapshot(root)
        with pytest.raises(LockedError):
            rollback_last(root, state_dir, runner=recorder.runner())
        assert tree_snapshot(root) == after
    finally:
        os.close(fd)


def test_lock_records_the_holder_pid(state_dir):
    with hold_lock(state_dir) as path:
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"), hold_lock(state_dir):
            pass
    with hold_lock(state_dir):  # released
        pass


def test_targets_that_disagree_about_a_file_are_refused(bundle, context, kit, root):
    from tlsprov.models import FileWrite, Plan

    class Clash:
        def __init__(self, text: bytes) -> None:
            self.text = text

        def plan(self, bundle, context):
            return Plan(
                target="x", writes=(FileWrite(path=PurePosixPath("/etc/x"), content=self.text),)
            )

    registry = kit.make_registry(a=lambda: Clash(b"a"), b=lambda: Clash(b"b"))
    with pytest.raises(InputError, match="both write /etc/x"):
        plan_install(bundle, context, ["a", "b"], registry=registry)


def test_interrupt_rolls_back_and_propagates(
    bundle, context, demo_registry, recorder, state_dir, root
):
    before = tree_snapshot(root)

    def final_check() -> None:
        raise KeyboardInterrupt

    plan = plan_install(bundle, context, ["demo"], registry=demo_registry)
    with pytest.raises(KeyboardInterrupt):
        apply_install(plan, state_dir=state_dir, runner=recorder.runner(), final_check=final_check)
    assert tree_snapshot(root) == before


def test_rollback_refuses_a_backup_made_for_another_root(
    bundle, context, demo_registry, recorder, state_dir, tmp_path
):
    _install(bundle, context, demo_registry, recorder, state_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(RollbackError, match="made for the root"):
        rollback_last(elsewhere, state_dir, runner=recorder.runner())
    assert list(elsewhere.iterdir()) == []
