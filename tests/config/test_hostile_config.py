"""Issue 11, part B: config values a careless operator writes are refused in one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsprov.cli import main
from tlsprov.errors import ConfigError
from tlsprov.lifecycle.config import load_config
from tlsprov.testing import tree_snapshot

MINIMAL = '[harbor]\nhostname = "harbor.test"\n[provider]\nname = "selfsigned"\n'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


HARBOR_TMPL = Path(__file__).parents[1] / "data" / "harbor" / "harbor.yml.tmpl"


def _harbor_root(root: Path) -> Path:
    """A sandbox root with Harbor's template harbor.yml and a prepare script in /opt/harbor."""
    harbor = root / "opt" / "harbor"
    harbor.mkdir(parents=True)
    (harbor / "harbor.yml").write_bytes(HARBOR_TMPL.read_bytes())
    (harbor / "prepare").write_text("#!/bin/sh\nexit 0\n")
    (harbor / "prepare").chmod(0o755)
    return root


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], *watch: Path) -> str:
    before = [tree_snapshot(p) for p in watch]
    code = main(argv)
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(err) == 1, err
    assert "internal error" not in err[0]
    assert [tree_snapshot(p) for p in watch] == before
    return err[0]


@pytest.mark.parametrize("root", ["sandbox", "./sandbox", "/srv/../sandbox"])
def test_a_relative_install_root_is_refused(tmp_path: Path, root: str) -> None:
    # issue 11 item 13: a relative [install] root was taken relative to the current folder
    path = _write(tmp_path / "c.toml", MINIMAL + f'[install]\nroot = "{root}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "install.root: must be an absolute path without '..'" in info.value.message


def test_a_relative_install_root_writes_nothing_in_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    path = _write(tmp_path / "c.toml", MINIMAL + '[install]\nroot = "sandbox"\n')
    line = _refused(["provision", "--config", str(path), "--dry-run"], capsys, cwd)
    assert "install.root" in line and "absolute" in line


@pytest.mark.parametrize("days", ["3000000", "12345678901234567890123", "36526"])
def test_an_overflowing_day_count_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, days: str
) -> None:
    # issue 11 item 19: 'days = 3000000' ended in 'internal error: OverflowError'
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # never a real docker or systemctl
    ca_dir = tmp_path / "ca"
    root = _harbor_root(tmp_path / "root")
    path = _write(
        tmp_path / "c.toml",
        MINIMAL + f'[provider.selfsigned]\nca_dir = "{ca_dir}"\nkey_type = "ec256"\n'
        f"days = {days}\n",
    )
    line = _refused(["provision", "--config", str(path), "--root", str(root)], capsys, tmp_path)
    assert "provider.selfsigned" in line and "days" in line and "36525" in line
    assert not ca_dir.exists()


@pytest.mark.parametrize("command", [["provision"], ["renew", "--force"]])
def test_a_broken_live_certificate_says_how_to_recover(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
) -> None:
    # issue 11 item 28: an empty live/<name>/<name>.crt gave a hint about PEM input
    from tlsprov.lifecycle.lineage import LineageMeta, StateStore
    from tlsprov.pki.bundleio import read_bundle

    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    root = _harbor_root(tmp_path / "root")
    state = root / "var/lib/tlsprov"
    made = tmp_path / "made"
    ca_dir = tmp_path / "ca"
    assert main(["issue", "harbor.test", "--ca-dir", str(ca_dir), "--out", str(made),
                 "--key-type", "ec256"]) == 0  # fmt: skip
    capsys.readouterr()
    bundle = read_bundle(made)
    store = StateStore(state)
    store.save("harbor.test", bundle, LineageMeta.from_bundle("harbor.test", "selfsigned", bundle))
    live = store.live_dir("harbor.test")
    (live / "harbor.test.crt").write_bytes(b"")
    path = _write(
        tmp_path / "c.toml",
        MINIMAL + f'[provider.selfsigned]\nca_dir = "{ca_dir}"\nkey_type = "ec256"\n',
    )
    line = _refused([*command, "--config", str(path), "--root", str(root)], capsys, tmp_path)
    assert f"{live}" in line and "broken" in line
    assert f"mv {live} {state}/harbor.test.broken" in line
    assert "PEM" not in line.split(";")[-1]  # the hint is the recovery, not a PEM lecture
    # the recovery the hint gives works: with the folder aside, a new certificate is planned
    live.rename(state / "harbor.test.broken")
    assert main(["provision", "--config", str(path), "--root", str(root), "--dry-run"]) == 0
    assert "a new certificate would be issued" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e300", "0"])
def test_verify_timeout_is_bounded_like_the_option(tmp_path: Path, value: str) -> None:
    # issue 11 item 17, the config side: bounded like --verify-timeout (0 to 3600 seconds)
    path = _write(tmp_path / "c.toml", MINIMAL + f"[install]\nverify_timeout = {value}\n")
    with pytest.raises(ConfigError, match=r"install\.verify_timeout: must be"):
        load_config(path)
