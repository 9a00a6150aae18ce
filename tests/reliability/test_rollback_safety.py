"""``tlsprov rollback`` never loses data: a missing backup changes nothing, and a file edited
after the install is kept (in the backup folder) before the backup is put back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tlsprov_e2e_support as S
from tlsprov_reliability_configs import provision_config

TARGETS = "harbor,docker,os-trust"


def _setup(sandbox: Any, recording_prepare: Any, bundles: Any, cli: Callable[..., Any]) -> Any:
    """A sandbox where bundle A then bundle B were installed; returns (box, work, B's backup)."""
    box = sandbox()
    recording_prepare(box)
    work = box.base / "runs"
    for bundle, port in ((bundles.a, 8443), (bundles.b, 9443)):
        run = cli(_install(box, bundle, port), box.env, work)
        assert run.code == 0, run.describe()
    backups = sorted((box.root / S.STATE_DIR / "backups").iterdir())
    return box, work, backups[-1]


def _install(box: Any, bundle: Path, port: int) -> list[str]:
    return [
        "install", "--bundle", str(bundle), "--host", S.HOST, "--port", str(port),
        "--alt-name", "127.0.0.1", "--root", str(box.root), "--targets", TARGETS,
        "--harbor-dir", "/opt/harbor",
    ]  # fmt: skip


def test_rollback_with_a_missing_backup_changes_nothing(
    sandbox: Any, recording_prepare: Any, bundles: Any, cli: Callable[..., Any]
) -> None:
    box, work, folder = _setup(sandbox, recording_prepare, bundles, cli)
    manifest = json.loads((folder / "manifest.json").read_text())
    backed_up = [f for f in manifest["files"] if f["backup"]]
    assert len(backed_up) > 1
    victim = backed_up[len(backed_up) // 2]  # not the first file rollback would restore
    (folder / "files" / victim["backup"]).unlink()
    before = box.snapshot()
    run = cli(["rollback", "--root", str(box.root)], box.env, work)
    assert run.code not in (0, None), run.describe()
    errors = [line for line in run.stderr.splitlines() if line.startswith("tlsprov: error: ")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.describe()
    assert victim["path"] in errors[0] and "nothing was changed" in errors[0], errors
    assert box.snapshot() == before, S.snapshot_diff(before, box.snapshot())


def test_rollback_keeps_a_file_edited_after_the_install(
    sandbox: Any, recording_prepare: Any, bundles: Any, cli: Callable[..., Any]
) -> None:
    box, work, folder = _setup(sandbox, recording_prepare, bundles, cli)
    harbor_yml = box.harbor / "harbor.yml"
    edited = harbor_yml.read_text() + "# the operator's own edit\n"
    harbor_yml.write_text(edited)
    run = cli(["rollback", "--root", str(box.root)], box.env, work)
    assert run.code == 0, run.describe()
    assert "the operator's own edit" not in harbor_yml.read_text()  # the backup is back
    kept = [p for p in folder.rglob("harbor.yml*") if p.is_file()]
    assert [p.read_text() for p in kept] == [edited], kept
    warning = [line for line in run.stderr.splitlines() if "/opt/harbor/harbor.yml" in line]
    assert warning and str(kept[0]) in warning[0], run.describe()


def test_rollback_restores_the_lineage_too(
    sandbox: Any, recording_prepare: Any, cli: Callable[..., Any]
) -> None:
    box = sandbox()
    recording_prepare(box)
    work = box.base / "runs"
    config = provision_config(box)
    for argv in (["provision"], ["renew", "--force"]):
        run = cli([*argv, "--config", str(config)], box.env, work)
        assert run.code == 0, run.describe()
    status = cli(["status", "--config", str(config), "--json"], box.env, work)
    (v2,) = json.loads(status.stdout)["certificates"]
    assert v2["version"] == 2
    undo = cli(["rollback", "--root", str(box.root)], box.env, work)
    assert undo.code == 0, undo.describe()
    status = cli(["status", "--config", str(config), "--json"], box.env, work)
    (now,) = json.loads(status.stdout)["certificates"]
    assert now["version"] == 1, now
    assert (now["last_action"], now["last_outcome"]) == ("rollback", "ok"), now
    live = box.root / S.STATE_DIR / "live" / S.HOST / f"{S.HOST}.crt"
    assert live.read_bytes() == (box.root / "data" / "cert" / f"{S.HOST}.crt").read_bytes()
