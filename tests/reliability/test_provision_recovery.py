"""``provision`` killed half-way: the next ``provision`` rolls the interrupted install back and
carries on in the same run (as ``install`` does), ending with the complete set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tlsprov_e2e_support as S
from tlsprov_reliability_configs import provision_config


def test_provision_recovers_an_interrupted_provision_in_one_run(
    sandbox: Any, recording_prepare: Any, cli: Callable[..., Any]
) -> None:
    box = sandbox()
    recording_prepare(box)
    work = box.base / "runs"
    argv = ["provision", "--config", str(provision_config(box))]
    # Where to strike: right after the first target file landed (not a backup copy).
    probe_box = sandbox()
    recording_prepare(probe_box)
    probe = cli(["provision", "--config", str(provision_config(probe_box))], probe_box.env,
                probe_box.base / "runs", {"n": 0})  # fmt: skip
    assert probe.code == 0, probe.describe()
    target = next(
        e["n"]
        for e in probe.events
        if e["step"].startswith("after-rename") and "/data/cert/" in e["step"]
    )
    killed = cli(argv, box.env, work, {"n": target, "kind": "kill"})
    assert killed.signal == 9, killed.describe()

    again = cli(argv, box.env, work)
    assert again.code == 0, again.describe()
    assert "rolled back an interrupted install" in again.stderr, again.describe()
    # the complete set: a further run has nothing to write
    before = box.snapshot(state=False)
    third = cli(argv, box.env, work)
    assert third.code == 0, third.describe()
    assert box.snapshot(state=False) == before, S.snapshot_diff(before, box.snapshot(state=False))
    leaf = (box.root / "data" / "cert" / "harbor.test.crt").read_bytes()
    live = (box.root / S.STATE_DIR / "live" / "harbor.test" / "harbor.test.crt").read_bytes()
    assert leaf == live


def test_install_recovery_warning_says_it_once(
    sandbox: Any, recording_prepare: Any, bundles: Any, cli: Callable[..., Any]
) -> None:
    box = sandbox()
    recording_prepare(box)
    work = box.base / "runs"
    argv = [
        "install", "--bundle", str(bundles.a), "--host", S.HOST, "--port", "8443",
        "--alt-name", "127.0.0.1", "--root", str(box.root), "--targets", "harbor,docker",
        "--harbor-dir", "/opt/harbor",
    ]  # fmt: skip
    probe = cli(argv, box.env, work, {"n": 0})
    assert probe.code == 0, probe.describe()
    rollback = cli(["rollback", "--root", str(box.root)], box.env, work)
    assert rollback.code == 0, rollback.describe()
    strike = next(e["n"] for e in probe.events if e["step"].startswith("after-rename /"))
    killed = cli(argv, box.env, work, {"n": strike, "kind": "kill"})
    assert killed.signal == 9, killed.describe()
    again = cli(argv, box.env, work)
    assert again.code == 0, again.describe()
    lines = [line for line in again.stderr.splitlines() if "interrupted install" in line]
    assert len(lines) == 1, again.describe()
    assert lines[0].count("rolled back") == 1 and "first (" not in lines[0], lines
