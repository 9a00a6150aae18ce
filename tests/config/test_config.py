"""tlsprov.toml: lookup order, validation (file, key, what is allowed), warnings, secrets."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from tlsprov.cli import main
from tlsprov.errors import ConfigError
from tlsprov.lifecycle.config import (
    RenewBefore,
    find_config,
    load_config,
    parse_config,
    resolve_secret,
)

MINIMAL = '[harbor]\nhostname = "harbor.test"\n[provider]\nname = "selfsigned"\n'


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = _write(tmp_path / "a.toml", MINIMAL)
    from_env = _write(tmp_path / "b.toml", MINIMAL)
    cwd = tmp_path / "cwd"
    local = _write(cwd / "tlsprov.toml", MINIMAL)
    env = {"TLSPROV_CONFIG": str(from_env)}
    assert find_config(explicit, environ=env, cwd=cwd) == explicit
    assert find_config(None, environ=env, cwd=cwd) == from_env
    assert find_config(None, environ={}, cwd=cwd) == local
    with pytest.raises(ConfigError, match="does not exist"):
        find_config(tmp_path / "missing.toml", environ={}, cwd=cwd)
    with pytest.raises(ConfigError, match="TLSPROV_CONFIG"):
        find_config(None, environ={"TLSPROV_CONFIG": str(tmp_path / "gone.toml")}, cwd=cwd)
    if not Path("/etc/tlsprov/tlsprov.toml").exists():
        with pytest.raises(ConfigError, match="no config file found"):
            find_config(None, environ={}, cwd=tmp_path / "empty")


def test_full_config_parses_with_defaults_and_overrides(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tlsprov.toml",
        """
[harbor]
hostname = "harbor.example.com"
https_port = 8443
alt_names = ["harbor", "10.1.2.3"]
install_dir = "/srv/harbor"
data_volume = "/data2"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "/etc/tlsprov/ca"
key_type = "ec256"

[install]
root = "/"
targets = ["harbor", "docker", "os-trust"]
client_only = false
verify = false
verify_timeout = 30

[renew]
before = "25%"
deploy_hook = "systemctl reload something"

[state]
dir = "/var/lib/tlsprov-test"
""",
    )
    config = load_config(path, overrides={"root": str(tmp_path / "root")})
    assert config.source == path
    assert config.harbor.hostname == "harbor.example.com"
    assert config.harbor.https_port == 8443
    assert config.harbor.alt_names == ("harbor", "10.1.2.3")
    assert config.harbor.install_dir == PurePosixPath("/srv/harbor")
    assert config.harbor.data_volume == PurePosixPath("/data2")
    assert config.provider_name == "selfsigned"
    assert dict(config.provider_options) == {"ca_dir": "/etc/tlsprov/ca", "key_type": "ec256"}
    assert config.install.root == tmp_path / "root"  # the CLI flag wins over the file
    assert config.install.targets == ("harbor", "docker", "os-trust")
    assert config.install.verify is False and config.install.verify_timeout == 30
    assert config.renew.before == RenewBefore(fraction=0.25)
    assert config.renew.deploy_hook == "systemctl reload something"
    assert config.state_path == tmp_path / "root" / "var/lib/tlsprov-test"
    assert config.warnings == ()
    defaults = parse_config({"harbor": {"hostname": "h.test"}, "provider": {"name": "x"}})
    assert defaults.harbor.https_port == 443
    assert defaults.install.targets == ("harbor", "docker")
    assert defaults.renew.before == RenewBefore()
    assert defaults.state_dir == PurePosixPath("/var/lib/tlsprov")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[provider]\nname='selfsigned'\n", "harbor: missing [harbor] section"),
        ('[harbor]\nhostname="h.test"\n', "provider: missing [provider] section"),
        ("[harbor]\n[provider]\nname='s'\n", "harbor.hostname: is required"),
        ('[harbor]\nhostname="bad_name!"\n[provider]\nname="s"\n', "harbor.hostname: 'bad_name!'"),
        ('[harbor]\nhostname="h.test"\nhttps_port=70000\n[provider]\nname="s"\n',
         "harbor.https_port: must be a port number from 1 to 65535"),
        ('[harbor]\nhostname="h.test"\nalt_names="x"\n[provider]\nname="s"\n',
         "harbor.alt_names: must be a list of strings"),
        ('[harbor]\nhostname="h.test"\ninstall_dir="opt/harbor"\n[provider]\nname="s"\n',
         "harbor.install_dir: must be an absolute path"),
        ('[harbor]\nhostname="h.test"\n[provider]\nname="s"\n[install]\nverify="yes"\n',
         "install.verify: must be true or false"),
        ('[harbor]\nhostname="h.test"\n[provider]\nname="s"\n[renew]\nbefore="soon"\n',
         "renew.before: 'soon' is not a percentage"),
        ('[harbor]\nhostname="h.test"\n[provider]\nname="s"\n[renew]\nbefore="150%"\n',
         "renew.before: a percentage must be between 0 and 100"),
        ('[harbor]\nhostname="h.test"\n[provider]\nname="s"\ns=3\n',
         "provider.s: must be a table of the provider's options"),
        ("[harbor\n", "not valid TOML"),
        ('[harbor]\nhostname="h.test"\nreload="restart"\n[provider]\nname="s"\n',
         'harbor.reload: must be "auto" or "prepare"'),
    ],
)  # fmt: skip
def test_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message
    assert message in info.value.message


def test_unknown_keys_are_warnings(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.toml",
        MINIMAL + 'colour = "blue"\n[install]\ntargest = ["docker"]\n[extra]\nx = 1\n'
        '[provider.letsencrypt]\nemail = "a@b.test"\n',
    )
    config = load_config(path)
    text = "\n".join(config.warnings)
    assert "install.targest: unknown key; allowed:" in text
    assert "extra: unknown section" in text
    assert "provider.colour: unknown key" in text
    assert "provider.letsencrypt: options for a provider other than 'selfsigned'" in text


def test_secrets_from_env_and_file(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret", "s3cret\n")
    assert resolve_secret("plain", key="k") == "plain"
    assert resolve_secret({"env": "PASS"}, key="k", environ={"PASS": "from-env"}) == "from-env"
    assert resolve_secret({"file": str(secret)}, key="k") == "s3cret"
    with pytest.raises(ConfigError, match="environment variable NOPE is not set"):
        resolve_secret({"env": "NOPE"}, key="k", environ={})
    with pytest.raises(ConfigError, match="cannot read secret file"):
        resolve_secret({"file": str(tmp_path / "missing")}, key="k")
    with pytest.raises(ConfigError, match="a secret must be"):
        resolve_secret({"vault": "x"}, key="k")


def test_cli_config_error_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "c.toml", MINIMAL + "[state]\ndir = 'relative'\n")
    code = main(["provision", "--config", str(path), "--root", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        f"tlsprov: error: {path}: state.dir: must be an absolute path without '..'"
    ]
    assert not (tmp_path / "r").exists()


def test_harbor_reload_defaults_to_auto_and_reaches_the_install_context() -> None:
    from tlsprov.lifecycle.provision import context_for

    auto = parse_config({"harbor": {"hostname": "h.test"}, "provider": {"name": "x"}})
    assert auto.harbor.reload == "auto" and context_for(auto).harbor_reload == "auto"
    forced = parse_config(
        {"harbor": {"hostname": "h.test", "reload": "prepare"}, "provider": {"name": "x"}}
    )
    assert forced.harbor.reload == "prepare" and context_for(forced).harbor_reload == "prepare"


def test_systemd_without_any_config_uses_the_lookup_at_run_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./tlsprov.toml here
    monkeypatch.delenv("TLSPROV_CONFIG", raising=False)
    assert main(["systemd", "--json"]) == 0
    import json

    units = json.loads(capsys.readouterr().out)["units"]
    exec_line = next(
        line
        for line in units["tlsprov-renew.service"].splitlines()
        if line.startswith("ExecStart=")
    )
    assert exec_line.endswith(" renew") and "--config" not in exec_line
    assert "OnCalendar=*-*-* 00,12:00:00" in units["tlsprov-renew.timer"]


def test_a_six_day_certificate_renews_with_two_days_left() -> None:
    window = RenewBefore()  # a third of the actual lifetime, whatever it is
    day = 86400
    assert not window.due(6 * day, 2.1 * day)
    assert window.due(6 * day, 1.9 * day)
    assert window.due(160 * 3600, 53 * 3600) and not window.due(160 * 3600, 54 * 3600)


def test_renew_before_window() -> None:
    third = RenewBefore()
    assert third.due(90 * 86400, 29 * 86400) and not third.due(90 * 86400, 31 * 86400)
    days = RenewBefore(days=30)
    assert days.due(3650 * 86400, 29 * 86400) and not days.due(3650 * 86400, 31 * 86400)
    assert third.describe() == "33% of lifetime" and days.describe() == "30 days"


def test_systemd_units_printed_and_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write(tmp_path / "tlsprov.toml", MINIMAL)
    assert main(["systemd", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "OnCalendar=*-*-* 00,12:00:00" in printed and "RandomizedDelaySec=12h" in printed
    assert f"renew --config {config}" in printed
    root = tmp_path / "root"
    assert main(["systemd", "--config", str(config), "--write", "--root", str(root)]) == 0
    unit_dir = root / "etc/systemd/system"
    service = (unit_dir / "tlsprov-renew.service").read_text()
    timer = (unit_dir / "tlsprov-renew.timer").read_text()
    assert "Type=oneshot" in service and f"--config {config}" in service
    assert "Persistent=true" in timer and "WantedBy=timers.target" in timer
    assert os.stat(unit_dir / "tlsprov-renew.timer").st_mode & 0o777 == 0o644
