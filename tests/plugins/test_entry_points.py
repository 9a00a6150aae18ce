"""Plugin discovery through real installed distributions.

``scripts/test`` installs the tiny distributions next to this file (``tlsprov-test-good``,
``tlsprov-test-broken``, ``tlsprov-test-clash``, ``tlsprov-test-options``, ``tlsprov-test-liar``,
``tlsprov-test-target-clash``) into the virtualenv; these tests fail when they are missing or
stale.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tlsprov
from tlsprov.cli import main
from tlsprov.errors import PluginLoadError, ProviderConflict, ProviderNotFound
from tlsprov.plugins.loader import ENTRY_POINT_GROUP, load_plugins
from tlsprov.plugins.registry import Registry
from tlsprov.testing import check_provider_conformance

HERE = Path(__file__).parent
TEST_DISTS = {
    "tlsprov-test-good": ("test-good", "tlsprov_test_good"),
    "tlsprov-test-broken": ("test-broken", "tlsprov_test_broken"),
    "tlsprov-test-clash": ("test-clash", "tlsprov_test_clash"),
    "tlsprov-test-options": ("test-options", "tlsprov_test_options"),
    "tlsprov-test-liar": ("liar", "tlsprov_test_liar"),
    "tlsprov-test-target-clash": ("target-clash", "tlsprov_test_target_clash"),
}
BUNDLED = {
    "selfsigned": "tlsprov_selfsigned",
    "letsencrypt": "tlsprov_letsencrypt",
    "builtin-targets": "tlsprov.install.targets",
}
TLSPROV_VERSION = md.version("tlsprov")


def _entry_points() -> dict[str, md.EntryPoint]:
    return {ep.name: ep for ep in md.entry_points(group=ENTRY_POINT_GROUP)}


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- the test distributions are really installed, and current ---------------------------------


@pytest.mark.parametrize("dist_name", sorted(TEST_DISTS))
def test_test_distribution_is_installed_and_current(dist_name: str) -> None:
    ep_name, package = TEST_DISTS[dist_name]
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError:
        pytest.fail(f"{dist_name} is not installed; run ./scripts/test (it installs tests/plugins)")
    assert dist.version == "0.1.0"
    eps = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
    assert [(ep.name, ep.value) for ep in eps] == [(ep_name, package)]
    # The installed copy must match the source tree, or the tests would exercise stale code.
    source_dir = HERE / dist_name / package
    installed = {Path(str(f)).name: f.locate() for f in dist.files or [] if str(f).endswith(".py")}
    sources = sorted(p.name for p in source_dir.glob("*.py"))
    assert sorted(installed) == sources
    for name in sources:
        assert Path(installed[name]).read_bytes() == (source_dir / name).read_bytes(), (
            f"{dist_name}: installed {name} is stale; run ./scripts/test"
        )


# --- (a) the bundled plugins are ordinary entry points ----------------------------------------


def test_bundled_entry_points_resolve_and_load() -> None:
    eps = _entry_points()
    for name, value in BUNDLED.items():
        ep = eps[name]
        assert ep.value == value
        assert ep.dist is not None
        assert ep.dist.metadata["Name"] == "tlsprov"
        module = ep.load()
        hooks = [n for n in dir(module) if n.startswith("tlsprov_")]
        assert hooks, f"{value} implements no tlsprov hook"


def test_bundled_providers_come_from_the_tlsprov_distribution(fresh_registry: Registry) -> None:
    providers = fresh_registry.providers()
    for name in ("selfsigned", "letsencrypt"):
        assert providers[name].plugin == name
        assert providers[name].source == f"tlsprov {TLSPROV_VERSION}"
    assert "builtin-targets" in fresh_registry.plugins.sources


# --- (b) a third-party provider and target ------------------------------------------------------


def test_good_plugin_provider_issues_through_get_provider() -> None:
    provider = tlsprov.get_provider("test-good")
    assert provider.name == "test-good"
    request = tlsprov.make_request(["harbor.test", "127.0.0.1"], key_type="ec256")
    bundle = check_provider_conformance(provider, request)
    assert b"BEGIN CERTIFICATE" in bundle.ca_pem


def test_good_plugin_rejects_unknown_options() -> None:
    with pytest.raises(tlsprov.ConfigError, match="unknown option"):
        tlsprov.get_provider("test-good", colour="blue")


def test_good_plugin_target_plans_files(fresh_registry: Registry, tmp_path: Path) -> None:
    bundle = fresh_registry.get_provider("test-good").issue(tlsprov.make_request(["harbor.test"]))
    target = fresh_registry.get_target("test-target")
    plan = target.plan(bundle, tlsprov.InstallContext(root=tmp_path, host="harbor.test"))
    assert plan.target == "test-target"
    secret = [w for w in plan.writes if w.secret]
    assert [str(w.path) for w in secret] == ["/etc/tlsprov-test-target/harbor.test.key"]
    assert secret[0].mode == 0o600


def test_plugins_command_lists_the_good_plugin_with_its_distribution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = _cli(capsys, "plugins", "--json")
    assert code == 0
    doc = json.loads(out)
    by_name = {p["name"]: p for p in doc["providers"]}
    assert by_name["test-good"]["plugin"] == "test-good"
    assert by_name["test-good"]["source"] == "tlsprov-test-good 0.1.0"
    assert by_name["selfsigned"]["source"] == f"tlsprov {TLSPROV_VERSION}"
    targets = {t["name"]: t for t in doc["targets"]}
    assert targets["test-target"]["source"] == "tlsprov-test-good 0.1.0"

    code, out, _ = _cli(capsys, "plugins")
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.split()[:1] == ["test-good"])
    assert "tlsprov-test-good 0.1.0" in line


def test_plugins_command_as_a_real_process() -> None:
    exe = Path(sys.executable).with_name("tlsprov")
    proc = subprocess.run(
        [str(exe), "plugins"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "test-good" in proc.stdout
    assert "tlsprov-test-good 0.1.0" in proc.stdout
    assert "Traceback" not in proc.stderr


# --- (c) a plugin that fails to import ----------------------------------------------------------


def test_broken_plugin_is_recorded_naming_its_distribution(fresh_registry: Registry) -> None:
    errors = [e for e in fresh_registry.load_errors if e.distribution == "tlsprov-test-broken"]
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, PluginLoadError)
    assert err.entry_point == "test-broken = tlsprov_test_broken"
    assert "plugin 'test-broken' from distribution 'tlsprov-test-broken' failed" in err.message
    assert "tlsprov_test_missing_dependency" in err.message
    assert err.exit_code == 2
    # Everything else still loaded and works.
    assert "test-broken" not in fresh_registry.plugins.sources
    assert {"selfsigned", "letsencrypt", "test-good"} <= set(fresh_registry.providers())
    bundle = fresh_registry.get_provider("test-good").issue(tlsprov.make_request(["a.test"]))
    assert bundle.leaf_pem.startswith(b"-----BEGIN CERTIFICATE-----")


def test_broken_plugin_asked_for_by_name_raises_its_load_error(fresh_registry: Registry) -> None:
    with pytest.raises(PluginLoadError) as info:
        fresh_registry.get_provider("test-broken")
    assert info.value.distribution == "tlsprov-test-broken"


def test_plugins_command_warns_about_the_broken_plugin(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _cli(capsys, "plugins", "--json")
    assert code == 0
    doc = json.loads(out)
    assert any("tlsprov-test-broken" in e for e in doc["errors"])
    warnings = [ln for ln in err.splitlines() if "tlsprov-test-broken" in ln]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: plugin 'test-broken' from distribution")


def test_issue_with_the_broken_provider_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "issue", "x", "--provider", "test-broken")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tlsprov: error: plugin 'test-broken'")
    assert "tlsprov-test-broken" in lines[0]
    assert "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []


# --- (d) two plugins claiming one name ----------------------------------------------------------


def test_clash_names_both_plugins_and_distributions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSPROV_TEST_CLASH", "1")
    reg = Registry(load_plugins())
    with pytest.raises(ProviderConflict) as info:
        reg.get_provider("selfsigned", {"ca_dir": "unused"})
    err = info.value
    assert err.name == "selfsigned"
    assert sorted(err.sources) == [
        f"selfsigned (tlsprov {TLSPROV_VERSION})",
        "test-clash (tlsprov-test-clash 0.1.0)",
    ]
    assert "provider name 'selfsigned' is claimed by more than one plugin" in str(err)
    assert "TLSPROV_DISABLE_PLUGINS" in err.one_line()
    assert err.exit_code == 2
    # Only the clashing name is broken: the other providers and the targets keep working.
    assert "selfsigned" not in reg.providers()
    assert {"letsencrypt", "test-good"} <= set(reg.providers())
    assert [(c.kind, c.name) for c in reg.conflicts()] == [("provider", "selfsigned")]
    bundle = reg.get_provider("test-good").issue(tlsprov.make_request(["a.test"]))
    assert bundle.leaf_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert "docker" in reg.targets()


def test_clash_on_the_command_line_lists_everything_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLSPROV_TEST_CLASH", "1")
    code, out, err = _cli(capsys, "plugins")
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("tlsprov: error:")]
    assert len(errors) == 1
    assert "tlsprov-test-clash" in errors[0]
    assert f"tlsprov {TLSPROV_VERSION}" in errors[0]
    # Both claimants are listed and marked; the rest is listed as usual.
    claims = [ln for ln in out.splitlines() if ln.split()[:1] == ["selfsigned"]]
    assert len(claims) == 2 and all("[clash]" in ln for ln in claims)
    assert any(ln.split()[:1] == ["letsencrypt"] for ln in out.splitlines())


def test_clash_on_the_command_line_breaks_only_that_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("TLSPROV_TEST_CLASH", "1")
    code, _, err = _cli(capsys, "issue", "h.test", "--out", str(tmp_path / "a"))
    assert code == 2
    assert "provider name 'selfsigned' is claimed by more than one plugin" in err
    assert not (tmp_path / "a").exists()
    code, _, err = _cli(
        capsys, "issue", "h.test", "--provider", "test-good", "--out", str(tmp_path / "b")
    )
    assert code == 0, err
    assert (tmp_path / "b" / "h.test.crt").is_file()


def test_blocking_the_clashing_plugin_resolves_the_clash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSPROV_TEST_CLASH", "1")
    monkeypatch.setenv("TLSPROV_DISABLE_PLUGINS", "test-clash")
    reg = Registry(load_plugins())
    assert reg.providers()["selfsigned"].source == f"tlsprov {TLSPROV_VERSION}"
    assert reg.plugins.blocked == ["test-clash"]


# --- (e) unknown provider ---------------------------------------------------------------------


def test_unknown_provider_lists_the_installed_choices(fresh_registry: Registry) -> None:
    names = sorted(fresh_registry.providers())
    assert {"letsencrypt", "selfsigned", "test-good"} <= set(names)
    expected = f"unknown provider 'x'; choose one of: {', '.join(names)}"
    with pytest.raises(ProviderNotFound) as info:
        tlsprov.get_provider("x")
    assert str(info.value) == expected
    assert info.value.one_line() == expected
    assert info.value.available == tuple(names)


def test_unknown_provider_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_registry: Registry,
) -> None:
    monkeypatch.chdir(tmp_path)
    names = ", ".join(sorted(fresh_registry.providers()))
    code, _, err = _cli(capsys, "issue", "harbor.test", "--provider", "x")
    assert code == 2
    assert err.strip().splitlines() == [
        f"tlsprov: error: unknown provider 'x'; choose one of: {names}"
    ]
    assert list(tmp_path.iterdir()) == []


# --- (f) the block list -------------------------------------------------------------------------


def test_disable_plugins_blocks_an_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TLSPROV_DISABLE_PLUGINS", "test-good")
    reg = Registry(load_plugins())
    assert reg.plugins.blocked == ["test-good"]
    assert "test-good" not in reg.providers()
    assert "test-target" not in reg.targets()
    assert "selfsigned" in reg.providers()
    with pytest.raises(ProviderNotFound):
        tlsprov.get_provider("test-good")


def test_disable_plugins_accepts_distribution_names() -> None:
    loaded = load_plugins(environ={"TLSPROV_DISABLE_PLUGINS": "tlsprov-test-broken, test-good"})
    assert sorted(loaded.blocked) == ["test-broken", "test-good"]
    assert loaded.errors == []
    assert "test-good" not in Registry(loaded).providers()


def test_disabled_plugin_does_not_show_in_the_plugins_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TLSPROV_DISABLE_PLUGINS", "test-good,test-broken")
    code, out, err = _cli(capsys, "plugins", "--json")
    assert code == 0
    doc = json.loads(out)
    assert "test-good" not in {p["name"] for p in doc["providers"]}
    assert sorted(doc["blocked"]) == ["test-broken", "test-good"]
    assert doc["errors"] == []
    assert "warning" not in err
