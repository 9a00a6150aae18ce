"""Plugin API 1.0 through real installed distributions (tests/plugins/*, installed by scripts/test).

Options that reach plugins (``-o``, declared options, ``[targets.NAME]``), bundles checked where a
provider returns them, errors that name their plugin, clashes that break only their name,
tracing, and the reference (pydoc of the hookspecs).
"""

from __future__ import annotations

import json
import os
import pydoc
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import tlsprov
from tlsprov.cli import main
from tlsprov.errors import (
    ConfigError,
    IssuanceError,
    PluginFailure,
    ProviderConflict,
    TargetConflict,
)
from tlsprov.plugins import hookspecs
from tlsprov.plugins.loader import load_plugins
from tlsprov.plugins.registry import Registry

LIAR = "plugin 'liar' (tlsprov-test-liar 0.1.0)"
EXE = Path(sys.executable).with_name("tlsprov")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _errors(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("tlsprov: error:")]


def _config(
    tmp_path: Path, provider: str, extra: str = "", targets: str = '"test-zeroarg"'
) -> Path:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    path = tmp_path / "tlsprov.toml"
    path.write_text(
        f'[harbor]\nhostname = "harbor.test"\n\n[provider]\nname = "{provider}"\n\n'
        f'[install]\nroot = "{root}"\ntargets = [{targets}]\nverify = false\n\n{extra}',
        encoding="utf-8",
    )
    return path


# --- -o KEY=VALUE ------------------------------------------------------------------------------


def test_dash_o_values_are_toml_when_they_parse_else_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = tmp_path / "options.json"
    code, _, err = _cli(
        capsys,
        "issue", "harbor.test", "--provider", "test-options", "--out", str(tmp_path / "out"),
        "-o", "days=30", "--option", "flag=true", "-o", 'names=["a","b"]',
        "-o", "ca_dir=/srv/ca", "-o", 'label="two words"', "-o", "ratio=0.25",
        "-o", "leaf_subject=/O=Example/CN=x", "-o", f"record={record}",
        "-o", "lexicon.auth_token=s3cret",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(record.read_text())
    assert got == {
        "lexicon.auth_token": "s3cret",  # TABLE.KEY reaches the provider as written
        "days": 30,
        "flag": True,
        "names": ["a", "b"],
        "ca_dir": "/srv/ca",
        "label": "two words",
        "ratio": 0.25,
        "leaf_subject": "/O=Example/CN=x",
        "record": str(record),
    }
    assert (tmp_path / "out" / "harbor.test.crt").is_file()


def test_dash_o_wins_over_the_mapped_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = tmp_path / "options.json"
    code, _, err = _cli(
        capsys,
        "issue", "harbor.test", "--provider", "test-options", "--out", str(tmp_path / "out"),
        "--ca-dir", "/from/flag", "--ca-passphrase-env", "PW", "--email", "a@b.test",
        "-o", "ca_dir=/from/option", "-o", f"record={record}",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(record.read_text())
    assert got["ca_dir"] == "/from/option"
    assert got["ca_passphrase"] == {"env": "PW"}
    assert got["email"] == "a@b.test"


@pytest.mark.parametrize("bad", ["novalue", "=3", "no spaces=1", "a..b=1", ".a=1", "a.b.c=1"])
def test_dash_o_without_key_value_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: str
) -> None:
    code, _, err = _cli(capsys, "issue", "h.test", "--out", str(tmp_path / "o"), "-o", bad)
    assert code == 2
    assert (len(_errors(err)) == 1 and "KEY=VALUE" in err) or "option name" in err
    assert not (tmp_path / "o").exists()


def test_dash_o_reaches_ca_init_and_revoke(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ca_dir = tmp_path / "ca"
    code, out, err = _cli(
        capsys, "ca", "init", "--ca-dir", str(ca_dir), "-o", "key_type=ec256", "-o", "days=40",
        "-o", "subject=/O=Example/CN=Option CA", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)["ca"]
    assert doc["subject"] == "/O=Example/CN=Option CA"
    from tlsprov.pki.x509 import load_cert

    cert = load_cert((ca_dir / "ca.crt").read_bytes())
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days in (40, 41)
    # revoke hands -o to the letsencrypt provider, which rejects what it does not know
    (tmp_path / "c.pem").write_bytes((ca_dir / "ca.crt").read_bytes())
    code, _, err = _cli(capsys, "revoke", str(tmp_path / "c.pem"), "-o", "colour=blue")
    assert code == 2
    assert "colour" in _errors(err)[0]


# --- declared options --------------------------------------------------------------------------


def test_declared_options_get_their_defaults_and_types(tmp_path: Path) -> None:
    record = tmp_path / "r.json"
    tlsprov.get_provider("test-declared", record=str(record), ratio=1)
    assert json.loads(record.read_text()) == {
        "days": 30,
        "flag": False,
        "ratio": 1.0,
        "record": str(record),
    }


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("days=ten", "[provider.test-declared] days: must be a whole number, got 'ten'"),
        ("flag=1", "[provider.test-declared] flag: must be true or false, got 1"),
        ("names=x", "[provider.test-declared] names: must be a list, got 'x'"),
        ("colour=blue", "[provider.test-declared] colour: unknown option for provider"),
    ],
)
def test_declared_options_are_checked_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, message: str
) -> None:
    out_dir = tmp_path / "out"
    code, _, err = _cli(
        capsys,
        "issue",
        "h.test",
        "--provider",
        "test-declared",
        "--out",
        str(out_dir),
        "-o",
        option,
    )
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"tlsprov: error: {message}")
    assert not out_dir.exists()


def test_declared_options_in_the_config_name_file_table_and_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(tmp_path, "test-declared", '[provider.test-declared]\ndays = "ten"\n')
    code, _, err = _cli(capsys, "provision", "--config", str(config))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(
        f"tlsprov: error: {config}: [provider.test-declared] days: must be a whole number"
    )
    assert not (tmp_path / "root" / "var").exists()
    assert list((tmp_path / "root").iterdir()) == []


def test_a_plugins_own_config_error_is_labelled_with_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(tmp_path, "test-good", "[provider.test-good]\ncolour = 1\n")
    code, _, err = _cli(capsys, "provision", "--config", str(config))
    assert code == 2
    assert _errors(err) == [
        f"tlsprov: error: {config}: [provider.test-good]: unknown option(s) colour; "
        "the test-good provider takes only 'days'"
    ]


def test_plugins_lists_declared_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(capsys, "plugins", "--json")
    assert code == 0
    doc = json.loads(out)
    by_name = {p["name"]: p for p in doc["providers"]}
    assert by_name["test-options"]["options"] is None
    assert by_name["test-declared"]["options"][0] == {
        "name": "days",
        "type": "int",
        "default": 30,
        "help": "leaf validity",
    }
    targets = {t["name"]: t for t in doc["targets"]}
    assert [(o["name"], o["type"], o["default"]) for o in targets["docker"]["options"]] == [
        ("server_pair", "bool", False)
    ]
    assert targets["containerd"]["options"] == []
    assert [o["name"] for o in targets["test-settings"]["options"]] == [
        "namespace",
        "path",
        "labels",
    ]
    code, out, _ = _cli(capsys, "plugins", "test-declared")
    assert code == 0
    assert "  from:    plugin 'test-options' (tlsprov-test-options 0.1.0)" in out
    assert "    days (int = 30): leaf validity" in out.splitlines()
    code, _, err = _cli(capsys, "plugins", "nope")
    assert code == 2
    assert "no provider or target is called 'nope'" in err


# --- targets with settings ---------------------------------------------------------------------


def _bundle_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    out = tmp_path / "bundle"
    code, _, err = _cli(
        capsys, "issue", "harbor.test", "--provider", "test-good", "--out", str(out)
    )
    assert code == 0, err
    return out


def test_target_settings_from_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bundle = _bundle_dir(capsys, tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    code, _, err = _cli(
        capsys, "install", "--bundle", str(bundle), "--host", "harbor.test", "--root", str(root),
        "--targets", "test-settings,test-zeroarg",
        "--target-option", "test-settings.namespace=registry",
        "--target-option", "test-settings.labels={team = \"infra\"}",
    )  # fmt: skip
    assert code == 0, err
    manifest = root / "etc/tlsprov-test-settings/secret.yaml"
    text = manifest.read_text()
    assert "  namespace: registry\n" in text
    assert '    team: "infra"\n' in text
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert (root / "etc/tlsprov-test-zeroarg/harbor.test-ca.crt").is_file()


def test_target_settings_from_the_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = _config(
        tmp_path,
        "test-good",
        '[targets.test-settings]\nnamespace = "from-config"\npath = "/srv/k8s/tls.yaml"\n',
        targets='"test-settings", "test-zeroarg"',
    )
    code, _, err = _cli(capsys, "provision", "--config", str(config))
    assert code == 0, err
    assert "  namespace: from-config\n" in (tmp_path / "root/srv/k8s/tls.yaml").read_text()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[targets.test-settings]\nnamespace = 3\n", "[targets.test-settings] namespace: must be"),
        ("[targets.docker]\nserver_pairs = true\n", "[targets.docker] server_pairs: unknown"),
        ("[targets.test-zeroarg]\nx = 1\n", "[targets.test-zeroarg]: target 'test-zeroarg' takes"),
    ],
)
def test_bad_target_settings_in_the_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, table: str, message: str
) -> None:
    config = _config(
        tmp_path, "test-good", table, targets='"test-settings", "docker", "test-zeroarg"'
    )
    code, _, err = _cli(capsys, "provision", "--config", str(config))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"tlsprov: error: {config}: {message}"), line
    assert not (tmp_path / "root" / "etc").exists()


def test_a_zero_argument_factory_still_works_in_the_library(tmp_path: Path) -> None:
    from tlsprov.testing import check_target_conformance

    reg = Registry(load_plugins())
    bundle = reg.get_provider("test-good").issue(tlsprov.make_request(["harbor.test"]))
    target = reg.get_target("test-zeroarg")
    context = tlsprov.InstallContext(root=tmp_path, host="harbor.test")
    plan = check_target_conformance(target, bundle, context)
    assert [str(w.path) for w in plan.writes] == ["/etc/tlsprov-test-zeroarg/harbor.test-ca.crt"]
    with pytest.raises(ConfigError, match="takes no settings"):
        reg.get_target("test-zeroarg", {"x": 1})


# --- bundles checked where a provider returns them ---------------------------------------------


BREAKAGES = {
    "key": "the private key does not match the certificate",
    "ca": "the certificate is not signed by CN=tlsprov liar other CA",
    "chain": "chain certificate CN=tlsprov liar stray intermediate is not signed by",
    "names": "h.test is not in the certificate's subjectAltName",
    "expired": "certificate: expired on",
    "usage": "its extendedKeyUsage does not allow serverAuth",
    "type": "returned dict, not an IssuedBundle",
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_issue_refuses_a_broken_bundle_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, breakage: str
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = _cli(
        capsys, "issue", "h.test", "--provider", "liar", "-o", f"breakage={breakage}",
        "--out", str(out_dir),
    )  # fmt: skip
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("tlsprov: error: provider 'liar' (tlsprov-test-liar 0.1.0) returned")
    assert BREAKAGES[breakage] in line
    assert "Traceback" not in out + err
    assert not out_dir.exists()


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_library_issue_refuses_a_broken_bundle(breakage: str) -> None:
    provider = tlsprov.get_provider("liar", breakage=breakage)
    with pytest.raises(IssuanceError) as info:
        provider.issue(tlsprov.make_request(["h.test"]))
    assert "provider 'liar' (tlsprov-test-liar 0.1.0)" in info.value.message
    assert BREAKAGES[breakage] in info.value.message
    assert info.value.exit_code == 1


def test_a_good_bundle_passes_the_check() -> None:
    provider = tlsprov.get_provider("liar")
    bundle = provider.issue(tlsprov.make_request(["h.test", "127.0.0.1"]))
    warnings = provider.check(bundle, tlsprov.make_request(["h.test", "127.0.0.1"]))
    assert len(warnings) == 2  # harmless: the liar's leaf and CA are short-lived
    assert all(" expires in " in w for w in warnings), warnings


# --- errors that name their plugin -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail_in", "expected"),
    [
        ("factory", f"{LIAR} failed in factory: RuntimeError: the liar's factory exploded"),
        (
            "import",
            f"{LIAR} failed in factory: ModuleNotFoundError: "
            "No module named 'tlsprov_test_liar_missing_sdk'",
        ),
        ("issue", f"{LIAR} failed in issue: RuntimeError: the CA said no in a way nobody expected"),
    ],
)
def test_exceptions_in_a_provider_name_the_plugin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fail_in: str, expected: str
) -> None:
    out_dir = tmp_path / "out"
    argv = ("issue", "h.test", "--provider", "liar", "-o", f"fail_in={fail_in}")
    code, out, err = _cli(capsys, *argv, "--out", str(out_dir))
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"tlsprov: error: {expected}; ")
    assert "TLSPROV_DISABLE_PLUGINS=liar" in line
    assert "internal error" not in line and "report it" not in line
    assert "Traceback" not in out + err
    assert not out_dir.exists()
    code, _, err = _cli(capsys, "-v", *argv, "--out", str(out_dir))
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith(f"tlsprov: error: {expected}")


def test_library_exception_in_issue_is_a_plugin_failure() -> None:
    provider = tlsprov.get_provider("liar", fail_in="issue")
    with pytest.raises(PluginFailure) as info:
        provider.issue(tlsprov.make_request(["h.test"]))
    err = info.value
    assert (err.plugin, err.source, err.stage) == ("liar", "tlsprov-test-liar 0.1.0", "issue")
    assert isinstance(err.__cause__, RuntimeError)


@pytest.mark.parametrize(
    ("fail_in", "expected"),
    [
        ("plan", f"{LIAR} failed in plan: KeyError: 'the liar target lost its plan'"),
        ("factory", f"{LIAR} failed in factory: ValueError: the liar target's factory exploded"),
    ],
)
def test_exceptions_in_a_target_name_the_plugin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fail_in: str, expected: str
) -> None:
    bundle = _bundle_dir(capsys, tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    code, _, err = _cli(
        capsys, "install", "--bundle", str(bundle), "--host", "harbor.test", "--root", str(root),
        "--targets", "liar-target", "--target-option", f"liar-target.fail_in={fail_in}",
    )  # fmt: skip
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith(f"tlsprov: error: {expected}")
    assert list(root.iterdir()) == []


def test_plugins_marks_a_provider_whose_factory_fails_as_broken(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TLSPROV_TEST_LIAR_FACTORY", "import")
    code, out, err = _cli(capsys, "plugins", "--json")
    assert code == 0
    liar = next(p for p in json.loads(out)["providers"] if p["name"] == "liar")
    assert liar["state"] == "broken"
    assert liar["problem"].startswith(f"{LIAR} failed in factory: ModuleNotFoundError")
    assert any(ln.startswith("warning: provider 'liar' is broken: ") for ln in err.splitlines())
    code, out, _ = _cli(capsys, "plugins")
    line = next(ln for ln in out.splitlines() if ln.split()[:1] == ["liar"])
    assert line.endswith("[broken]")
    others = [ln for ln in out.splitlines() if ln.startswith("  ") and "[" in ln.split()[-1]]
    assert others == [line]


# --- a target-name clash beside a provider that works ------------------------------------------


def test_target_clash_breaks_only_those_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TLSPROV_TEST_TARGET_CLASH", "1")
    reg = Registry(load_plugins())
    with pytest.raises(TargetConflict) as info:
        reg.get_target("docker")
    assert not isinstance(info.value, ProviderConflict)
    assert sorted(info.value.sources) == [
        f"builtin-targets (tlsprov {tlsprov.__version__})",
        "target-clash (tlsprov-test-target-clash 0.1.0)",
    ]
    assert [(c.kind, c.name) for c in reg.conflicts()] == [
        ("target", "docker"),
        ("target", "podman"),
    ]

    code, out, err = _cli(capsys, "plugins")
    assert code == 1
    errors = _errors(err)
    assert len(errors) == 2
    assert "target name 'docker' is claimed" in errors[0]
    assert "target name 'podman' is claimed" in errors[1]
    assert all("tlsprov-test-target-clash 0.1.0" in e for e in errors)
    assert sum("[clash]" in ln for ln in out.splitlines()) == 4
    assert any(ln.split()[:1] == ["test-unrelated"] for ln in out.splitlines())

    bundle = tmp_path / "bundle"
    code, _, err = _cli(capsys, "issue", "harbor.test", "--provider", "test-unrelated",
                        "--out", str(bundle))  # fmt: skip
    assert code == 0, err
    root = tmp_path / "root"
    root.mkdir()
    base = ("install", "--bundle", str(bundle), "--host", "harbor.test", "--root", str(root))
    code, _, err = _cli(capsys, *base, "--targets", "docker")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "target name 'docker' is claimed by more than one plugin" in line
    assert "tlsprov-test-target-clash 0.1.0" in line
    assert list(root.iterdir()) == []
    code, _, err = _cli(capsys, *base, "--targets", "containerd")
    assert code == 0, err
    assert (root / "etc/containerd/certs.d/harbor.test/ca.crt").is_file()


# --- tracing and the reference -----------------------------------------------------------------


def test_trace_shows_every_hook_call_and_who_answered(tmp_path: Path) -> None:
    env = {**os.environ, "TLSPROV_TRACE_PLUGINS": "1"}
    proc = subprocess.run(
        [str(EXE), "issue", "h.test", "--provider", "test-good", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    trace = [ln for ln in proc.stderr.splitlines() if ln.startswith("tlsprov: trace: ")]
    assert "tlsprov: trace: loaded plugin 'liar' (tlsprov-test-liar 0.1.0)" in trace
    assert (
        "tlsprov: trace: hook tlsprov_register_providers: plugin 'test-good' "
        "(tlsprov-test-good 0.1.0) answered ['test-good']"
    ) in trace
    assert any(ln.startswith("tlsprov: trace: hook tlsprov_check_request(") for ln in trace)
    assert any(ln.startswith("tlsprov: trace: hook tlsprov_bundle_issued(") for ln in trace)
    quiet = subprocess.run(
        [str(EXE), "plugins"], capture_output=True, text=True, timeout=60, check=False
    )
    assert "trace" not in quiet.stderr


@pytest.mark.parametrize("module", ["tlsprov.plugins.hookspecs", "tlsprov.hookspecs"])
def test_pydoc_shows_every_hook_with_its_docstring(module: str) -> None:
    text = pydoc.render_doc(module, renderer=pydoc.plaintext)
    hooks = [n for n in hookspecs.__all__ if n.startswith("tlsprov_")]
    assert len(hooks) == 4
    for name in hooks:
        first_line = (getattr(hookspecs, name).__doc__ or "").strip().splitlines()[0]
        assert name in text
        assert first_line in text, f"pydoc of {module} lacks {name}'s docstring"


def test_a_crashing_policy_hook_names_its_plugin() -> None:
    import tlsprov_test_good

    from tlsprov.testing import registry_with

    class Crashing:
        @tlsprov.hookimpl
        def tlsprov_check_request(self, request: tlsprov.CertificateRequest) -> None:
            raise ZeroDivisionError("policy bug")

    provider = registry_with(tlsprov_test_good, Crashing()).get_provider("test-good")
    with pytest.raises(PluginFailure) as info:
        provider.issue(tlsprov.make_request(["h.test"]))
    assert info.value.one_line().startswith(
        "plugin 'plugin-1' (<registered>) failed in tlsprov_check_request: "
        "ZeroDivisionError: policy bug"
    )


def test_settings_for_a_target_that_is_not_installed_are_a_warning(tmp_path: Path) -> None:
    config = _config(tmp_path, "test-good", '[targets.test-settings]\nnamespace = "x"\n')
    loaded = tlsprov.load_config(config)
    assert loaded.target_options == {"test-settings": {"namespace": "x"}}
    assert loaded.warnings == (
        f"{config}: targets.test-settings: settings for a target not in [install] targets are "
        "ignored",
    )
    bad = _config(tmp_path, "test-good", "[targets]\nDocker = 1\n")
    with pytest.raises(ConfigError, match=r"targets\.Docker: is not a target name"):
        tlsprov.load_config(bad)
