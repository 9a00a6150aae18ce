"""Kill or fail the installer at every step of apply; the root must hold one complete set.

Each scenario installs bundle A (CA 1, port 8443), then installs bundle B (CA 2, port 9443)
with a fault at step N (probes in ``_faults.py``, installed from outside in a forked child):
every ``atomic_write`` (target files, backup copies, journal saves), just before and just after
each rename, before and after each command, and around the final check. A probe-only run lists
the steps; N covers them all, and a run with N past the last step must finish untouched.

- SIGKILL, then ``tlsprov rollback`` (docker, containerd, podman, os-trust, and all five
  targets together): the root is the complete A set again;
- SIGKILL, then the next ``tlsprov install`` (docker + os-trust, and all five targets; thinned
  like the other five-target runs): it rolls the interrupted
  install back first, and either finishes (complete B set) or says to run again (A set);
- an injected ``OSError`` (all five targets): exit 1 with one clear line and the A set, or
  exit 0 and the B set when only a probe with a fallback failed;
- SIGKILL around every command of the harbor target with the rendering test ``prepare``;
- SIGKILL or an injected error at every step of ``tlsprov rollback`` itself (five targets),
  then a second rollback: the A set.

The five-target runs strike only the first and last journal saves (the manifest is rewritten
after each new folder and before each command: the same three moments each time), to keep the
suite's run time bounded. The harbor target's file steps are all part of the five-target runs.
Snapshots leave out tlsprov's state folder; everything else — including what the test
``prepare`` renders, since rollback re-runs it — must match byte for byte, modes included.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

TARGETS = {
    "docker": "docker",
    "containerd": "containerd",
    "podman": "podman",
    "os-trust": "os-trust",
    "all": "harbor,docker,containerd,podman,os-trust",
    "docker+os-trust": "docker,os-trust",  # os-trust changes, so docker restarts too
    "harbor": "harbor",
}
SINGLE = ["docker", "containerd", "podman", "os-trust"]


class Scenario:
    """A sandbox holding the A set, with the B install as the run to break."""

    def __init__(
        self,
        box: Any,
        bundles: Any,
        targets: str,
        cli: Callable[..., Any],
        *,
        recording_prepare: Callable[..., None] | None = None,
    ) -> None:
        self.box = box
        if recording_prepare is not None:
            recording_prepare(box)
        self.cli = cli
        self.targets = targets
        self.work = box.base / "runs"
        self.install_a = self._install_args(bundles.a, 8443)
        self.install_b = self._install_args(bundles.b, 9443)
        first = self.run(self.install_a)
        assert first.code == 0, first.describe()
        self.old = self.snap()
        second = self.run(self.install_b)
        assert second.code == 0, second.describe()
        self.new = self.snap()
        assert self.new != self.old
        self.reset()

    def _install_args(self, bundle: Path, port: int) -> list[str]:
        return [
            "install", "--bundle", str(bundle), "--host", S.HOST, "--port", str(port),
            "--alt-name", "127.0.0.1", "--root", str(self.box.root), "--targets", self.targets,
            "--harbor-dir", "/opt/harbor",
        ]  # fmt: skip

    def run(self, argv: list[str], spec: dict[str, Any] | None = None) -> Any:
        return self.cli(argv, self.box.env, self.work, spec)

    def snap(self) -> dict[str, tuple[int, bytes | None]]:
        snap: dict[str, tuple[int, bytes | None]] = self.box.snapshot(state=False)
        return snap

    def which(self) -> str:
        now = self.snap()
        if now == self.old:
            return "old"
        if now == self.new:
            return "new"
        old, new = S.snapshot_diff(self.old, now), S.snapshot_diff(self.new, now)
        return f"mixed: vs old {old}; vs new {new}"

    def rollback(self) -> Any:
        return self.run(["rollback", "--root", str(self.box.root)])

    def reset(self) -> None:
        """Back to the A set (rolling back a completed B install)."""
        if self.snap() != self.old:
            result = self.rollback()
            assert result.code == 0, result.describe()
        assert self.which() == "old"


def _one_line_error(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("tlsprov: error: ")]


def _kind(label: str) -> str:
    """A step label without the backup folder's timestamp (it differs between runs)."""
    return re.sub(r"/backups/[^/]+/", "/backups/*/", label)


def _steps(scenario: Scenario) -> list[str]:
    """Every step of the B install, from a run with probes that never strike."""
    run = scenario.run(scenario.install_b, {"n": 0, "kind": "kill"})
    assert run.code == 0, run.describe()
    assert scenario.which() == "new"
    scenario.reset()
    return [_kind(e["step"]) for e in run.events]


def _select(steps: list[str], *, thin: bool) -> list[int]:
    """Step numbers to strike. ``thin`` keeps only the first and last journal saves (the
    manifest is rewritten after every folder and before every command; each save is the same
    three moments), which bounds the run time of the biggest scenario."""
    numbers = list(range(1, len(steps) + 1))
    if not thin:
        return numbers
    saves = [n for n in numbers if steps[n - 1].endswith("/manifest.json")]
    keep = set(saves[:3] + saves[-3:])
    return [n for n in numbers if n not in saves or n in keep]


def _enumerate(
    scenario: Scenario,
    kind: str,
    recover: Callable[[Any], None],
    *,
    thin: bool = False,
    only: Callable[[str], bool] | None = None,
) -> int:
    """Strike at each selected step (from 1 to the last step of a complete install)."""
    steps = _steps(scenario)
    chosen = [n for n in _select(steps, thin=thin) if only is None or only(steps[n - 1])]
    for n in chosen:
        faulted = scenario.run(scenario.install_b, {"n": n, "kind": kind})
        assert "Traceback" not in faulted.stderr, faulted.describe()
        assert faulted.hit is not None, faulted.describe()
        assert _kind(faulted.hit["step"]) == steps[n - 1], faulted.describe()
        recover(faulted)
        scenario.reset()
    beyond = scenario.run(scenario.install_b, {"n": len(steps) + 1, "kind": kind})
    assert beyond.hit is None and beyond.code == 0, beyond.describe()  # nothing was left out
    scenario.reset()
    return len(chosen)


def _check_killed(faulted: Any) -> None:
    assert faulted.signal == 9, faulted.describe()


@pytest.mark.parametrize("targets", [*SINGLE, "all"])
def test_kill_at_every_step_then_rollback(
    targets: str, sandbox: Any, bundles: Any, cli: Any, recording_prepare: Any
) -> None:
    scenario = Scenario(
        sandbox(), bundles, TARGETS[targets], cli, recording_prepare=recording_prepare
    )

    def recover(faulted: Any) -> None:
        _check_killed(faulted)
        rolled = scenario.rollback()
        where = faulted.hit["step"]
        assert rolled.code == 0, f"{where}\n{rolled.describe()}"
        assert "Traceback" not in rolled.stderr
        assert scenario.which() == "old", f"killed at {where}: {scenario.which()}"

    steps = _enumerate(scenario, "kill", recover, thin=targets == "all")
    assert steps >= 10


@pytest.mark.parametrize("targets", ["docker+os-trust", "all"])
def test_kill_at_every_step_then_install_again(
    targets: str, sandbox: Any, bundles: Any, cli: Any, recording_prepare: Any
) -> None:
    scenario = Scenario(
        sandbox(), bundles, TARGETS[targets], cli, recording_prepare=recording_prepare
    )

    def recover(faulted: Any) -> None:
        _check_killed(faulted)
        where = faulted.hit["step"]
        again = scenario.run(scenario.install_b)
        assert "Traceback" not in again.stderr, again.describe()
        state = scenario.which()
        if again.code == 0:
            assert state == "new", f"killed at {where}: {state}\n{again.describe()}"
        else:
            assert again.code == 1, again.describe()
            lines = _one_line_error(again.stderr)
            assert len(lines) == 1 and "interrupted install" in lines[0], again.describe()
            assert state == "old", f"killed at {where}: {state}"
            third = scenario.run(scenario.install_b)
            assert third.code == 0, third.describe()
            assert scenario.which() == "new"

    steps = _enumerate(scenario, "kill", recover, thin=True)
    assert steps >= 10


@pytest.mark.parametrize("targets", ["all"])
def test_failure_at_every_step_rolls_back(
    targets: str, sandbox: Any, bundles: Any, cli: Any, recording_prepare: Any
) -> None:
    scenario = Scenario(
        sandbox(), bundles, TARGETS[targets], cli, recording_prepare=recording_prepare
    )

    def recover(faulted: Any) -> None:
        where = faulted.hit["step"]
        state = scenario.which()
        if faulted.code == 0:  # only a probe failed; its fallback ran
            assert "compose version" in where, faulted.describe()
            assert state == "new", f"failed at {where}: {state}"
            return
        assert faulted.code == 1, faulted.describe()
        lines = _one_line_error(faulted.stderr)
        assert len(lines) == 1, faulted.describe()
        assert "rolled back" in lines[0], faulted.describe()
        assert state == "old", f"failed at {where}: {state}"

    steps = _enumerate(scenario, "raise", recover, thin=targets == "all")
    assert steps >= 10


def test_kill_with_the_rendering_prepare_then_rollback(
    sandbox: Any, bundles: Any, cli: Any
) -> None:
    """The harbor target with the test prepare that renders data/secret and common/config:
    rollback re-runs it, so even its outputs are the A set again."""
    scenario = Scenario(sandbox(), bundles, TARGETS["harbor"], cli)
    assert (scenario.box.root / "data" / "secret" / "cert" / "server.crt").is_file()

    def recover(faulted: Any) -> None:
        _check_killed(faulted)
        rolled = scenario.rollback()
        assert rolled.code == 0, rolled.describe()
        assert scenario.which() == "old", f"killed at {faulted.hit['step']}: {scenario.which()}"

    def around_commands(step: str) -> bool:
        return "command" in step or "final-check" in step

    assert _enumerate(scenario, "kill", recover, only=around_commands) >= 8


def test_the_wrapper_script_kills_a_real_process(
    sandbox: Any, bundles: Any, cli: Any, tmp_path: Path
) -> None:
    """The same probes through ``python _faults.py SPEC -- ARGS`` (a fresh interpreter): killed
    right after the first certs.d file was renamed into place, then ``tlsprov rollback``.

    containerd's folder gets two files (ca.crt, hosts.toml); Docker's holds only ca.crt now."""
    scenario = Scenario(sandbox(), bundles, TARGETS["containerd"], cli)
    steps = _steps(scenario)
    n = next(i for i, step in enumerate(steps, 1) if re.match(r"after-rename .*/certs\.d/", step))
    spec = json.dumps({"n": n, "kind": "kill", "events": str(tmp_path / "events.jsonl")})
    wrapper = Path(__file__).with_name("_faults.py")
    killed = subprocess.run(
        [sys.executable, str(wrapper), spec, "--", *scenario.install_b],
        capture_output=True, text=True, env=scenario.box.env, timeout=60,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert scenario.which() not in ("old", "new")  # really half-done
    rolled = scenario.box.tlsprov("rollback", "--root", str(scenario.box.root))
    assert rolled.returncode == 0, S.describe(rolled)
    assert scenario.which() == "old"


def test_dry_run_and_recover_interrupted_after_a_kill(sandbox: Any, bundles: Any, cli: Any) -> None:
    """After a kill mid-write: ``--dry-run`` warns and touches nothing (not even the state
    folder); :func:`~tlsprov.install.rollback.recover_interrupted`
    rolls back once, then finds nothing."""
    from tlsprov.install.engine import default_state_dir
    from tlsprov.install.rollback import recover_interrupted
    from tlsprov.runner import CommandRunner

    scenario = Scenario(sandbox(), bundles, TARGETS["docker+os-trust"], cli)
    steps = _steps(scenario)
    n = next(i for i, step in enumerate(steps, 1) if step.startswith("before-rename ") and
             "/certs.d/" in step)  # fmt: skip
    killed = scenario.run(scenario.install_b, {"n": n, "kind": "kill"})
    _check_killed(killed)
    half = S.snapshot(scenario.box.root)
    assert scenario.which() not in ("old", "new")

    dry = scenario.run([*scenario.install_b, "--dry-run"])
    assert dry.code == 0, dry.describe()
    assert "was interrupted" in dry.stderr, dry.describe()
    assert S.snapshot(scenario.box.root) == half

    runner = CommandRunner(path=scenario.box.env["PATH"], env=scenario.box.env)
    result = recover_interrupted(scenario.box.root, runner=runner)
    assert result is not None and result.changed
    assert "interrupted install" in result.notes[0]
    assert scenario.which() == "old"
    assert recover_interrupted(scenario.box.root, runner=runner) is None
    assert default_state_dir(scenario.box.root).is_dir()


def _b_journal_rolled_back(scenario: Scenario) -> bool:
    backups = scenario.box.root / "var" / "lib" / "tlsprov" / "backups"
    newest = sorted(p for p in backups.iterdir() if (p / "manifest.json").is_file())[-1]
    status: str = json.loads((newest / "manifest.json").read_text())["status"]
    return status == "rolled-back"


@pytest.mark.parametrize("kind", ["kill", "raise"])
def test_fault_at_every_step_of_a_rollback(
    kind: str, sandbox: Any, bundles: Any, cli: Any, recording_prepare: Any
) -> None:
    """``tlsprov rollback`` of the five-target B install, killed or failing at each of its
    steps (restored files, renames, re-run commands, the journal): a second rollback (unless
    the first had finished) ends at the A set."""
    scenario = Scenario(
        sandbox(), bundles, TARGETS["all"], cli, recording_prepare=recording_prepare
    )
    rollback = ["rollback", "--root", str(scenario.box.root)]

    def install_b() -> None:
        done = scenario.run(scenario.install_b)
        assert done.code == 0 and scenario.which() == "new", done.describe()

    install_b()
    probe = scenario.run(rollback, {"n": 0, "kind": kind})
    assert probe.code == 0 and scenario.which() == "old", probe.describe()
    steps = [_kind(e["step"]) for e in probe.events]
    assert len(steps) >= 20, steps
    for n in range(1, len(steps) + 1):
        install_b()
        faulted = scenario.run(rollback, {"n": n, "kind": kind})
        where = faulted.hit["step"] if faulted.hit else None
        assert where is not None and _kind(where) == steps[n - 1], faulted.describe()
        assert "Traceback" not in faulted.stderr, faulted.describe()
        if kind == "kill":
            assert faulted.signal == 9, faulted.describe()
        elif faulted.code != 0:
            assert faulted.code == 1, faulted.describe()
            assert len(_one_line_error(faulted.stderr)) == 1, faulted.describe()
            assert "internal error" not in faulted.stderr, faulted.describe()
        if not _b_journal_rolled_back(scenario):
            again = scenario.run(rollback)
            assert again.code == 0, f"{where}\n{again.describe()}"
        assert scenario.which() == "old", f"{kind} at {where}: {scenario.which()}"
