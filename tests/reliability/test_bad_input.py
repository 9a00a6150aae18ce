"""The bad-input matrix: every case ends with exactly one ``tlsprov: error:`` line on stderr,
exit 1 or 2, no traceback, and not one byte changed anywhere in the test's world.

The world is a whole sandbox (root with Harbor, Docker, os-release), a valid bundle, a second
bundle from another CA, a CA folder, the command recorder's log, HOME and XDG folders, all under
one folder whose tree snapshot (paths, modes, bytes) is compared before and after. Cases run
in-process (``tlsprov.cli.main``); a representative subset runs again as a real subprocess.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.cli import main
from tlsprov.testing import tree_snapshot

BUNDLED = {"selfsigned", "letsencrypt", "builtin-targets"}
TARGETS = "harbor,docker,os-trust"


@dataclass
class World:
    """Everything a case may break, under ``base``."""

    base: Path
    box: Any
    bundle: Path
    other: Path
    ca_dir: Path

    @property
    def root(self) -> Path:
        return Path(self.box.root)

    def install(self, *extra: str, bundle: Path | None = None, targets: str = TARGETS) -> list[str]:
        return [
            "install", "--bundle", str(bundle or self.bundle), "--host", S.HOST,
            "--port", "8443", "--alt-name", "127.0.0.1", "--root", str(self.root),
            "--targets", targets, "--harbor-dir", "/opt/harbor", *extra,
        ]  # fmt: skip

    def broken_bundle(self, name: str, content: bytes | None) -> Path:
        """A copy of the valid bundle with file ``name`` replaced (``None``: removed)."""
        folder = self.base / f"bundle-{name.replace('.', '-')}"
        shutil.copytree(self.bundle, folder)
        if content is None:
            (folder / name).unlink()
        else:
            (folder / name).write_bytes(content)
        return folder

    def harbor_yml(self, content: bytes) -> list[str]:
        (self.root / "opt" / "harbor" / "harbor.yml").write_bytes(content)
        return self.install(targets="harbor")

    def os_release(self, content: bytes | None) -> list[str]:
        path = self.root / "etc" / "os-release"
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content)
        return self.install(targets="os-trust")

    def config(self, text: str) -> list[str]:
        path = self.base / "tlsprov.toml"
        path.write_text(text, encoding="utf-8")
        return ["provision", "--config", str(path)]

    def good_config(self, **replace: str) -> str:
        sections = {
            "harbor": 'hostname = "harbor.test"\nhttps_port = 8443\nalt_names = ["127.0.0.1"]\n'
            'install_dir = "/opt/harbor"',
            "provider": 'name = "selfsigned"',
            "provider.selfsigned": f'ca_dir = "{self.ca_dir}"\nkey_type = "ec256"',
            "install": f'root = "{self.root}"\ntargets = ["harbor", "docker"]\nverify = false',
        }
        sections.update(replace)
        return "\n".join(f"[{k}]\n{v}\n" for k, v in sections.items() if v)


def _pem_body(path: Path) -> bytes:
    return path.read_bytes()


def _der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


def _truncated(path: Path) -> bytes:
    data = path.read_bytes()
    return data[: len(data) // 2]


Build = Callable[[World], list[str]]

# (id, build the case and return argv, text the error line must contain)
CASES: list[tuple[str, Build, str]] = [
    # --- the command line
    ("cli-unknown-command", lambda w: ["frobnicate"], "invalid choice"),
    ("cli-install-no-bundle", lambda w: ["install", *w.install()[3:]], "required"),
    ("cli-port-zero", lambda w: [*w.install(), "--port", "0"], "not a port"),
    ("cli-port-text", lambda w: [*w.install(), "--port", "https"], "not a port"),
    (
        "cli-harbor-dir-relative",
        lambda w: [*w.install(), "--harbor-dir", "opt/harbor"],
        "absolute path",
    ),
    ("cli-unknown-target", lambda w: w.install(targets="harbor,nginx"), "nginx"),
    ("cli-empty-targets", lambda w: w.install(targets=","), "--targets is empty"),
    ("cli-targets-empty-string", lambda w: w.install(targets=""), "--targets is empty"),
    ("cli-bad-host", lambda w: [*w.install(), "--host", "harbor test!"], "harbor test!"),
    (
        "cli-root-missing",
        lambda w: [*w.install(), "--root", str(w.base / "nowhere")],
        "is not a folder",
    ),
    ("cli-bundle-missing", lambda w: w.install(bundle=w.base / "nowhere"), "does not exist"),
    (
        "cli-bad-key-type",
        lambda w: [
            "issue",
            "harbor.test",
            "--ca-dir",
            str(w.ca_dir),
            "--out",
            str(w.base / "o"),
            "--key-type",
            "rsa1000",
        ],
        "rsa1000",
    ),
    (
        "cli-issue-empty-name",
        lambda w: [
            "issue",
            "",
            "--ca-dir",
            str(w.ca_dir),
            "--out",
            str(w.base / "o"),
            "--key-type",
            "ec256",
        ],
        "",
    ),
    ("cli-rollback-nothing", lambda w: ["rollback", "--root", str(w.root)], "nothing to roll back"),
    (
        "cli-verify-timeout-zero",
        lambda w: ["provision", "--verify-timeout", "0"],
        "between 0 and 3600",
    ),
    # --- the bundle's PEM files
    (
        "pem-crt-garbage",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.crt", b"hello, I am not a certificate\n")
        ),
        "harbor.test.crt",
    ),
    (
        "pem-crt-truncated",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.crt", _truncated(w.bundle / "harbor.test.crt"))
        ),
        "harbor.test.crt",
    ),
    (
        "pem-crt-der",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.crt", _der(w.bundle / "harbor.test.crt"))
        ),
        "harbor.test.crt",
    ),
    (
        "pem-crt-empty",
        lambda w: w.install(bundle=w.broken_bundle("harbor.test.crt", b"")),
        "harbor.test.crt",
    ),
    (
        "pem-key-mismatch",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.key", _pem_body(w.other / "harbor.test.key"))
        ),
        "does not match",
    ),
    (
        "pem-key-binary",
        lambda w: w.install(bundle=w.broken_bundle("harbor.test.key", bytes(range(256)) * 4)),
        "harbor.test.key",
    ),
    (
        "pem-key-truncated",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.key", _truncated(w.bundle / "harbor.test.key"))
        ),
        "harbor.test.key",
    ),
    (
        "pem-key-is-a-cert",
        lambda w: w.install(
            bundle=w.broken_bundle("harbor.test.key", _pem_body(w.bundle / "harbor.test.crt"))
        ),
        "harbor.test.key",
    ),
    (
        "pem-ca-garbage",
        lambda w: w.install(bundle=w.broken_bundle("ca.crt", b"\x00\x01garbage")),
        "ca.crt",
    ),
    ("pem-ca-missing", lambda w: w.install(bundle=w.broken_bundle("ca.crt", None)), "ca.crt"),
    (
        "pem-ca-other-ca",
        lambda w: w.install(bundle=w.broken_bundle("ca.crt", _pem_body(w.other / "ca.crt"))),
        "",
    ),
    # --- harbor.yml
    (
        "harbor-yml-not-yaml",
        lambda w: w.harbor_yml(b"hostname: [unclosed\n  : : :\n"),
        "not valid YAML",
    ),
    (
        "harbor-yml-list",
        lambda w: w.harbor_yml(b"- hostname: harbor.test\n- data_volume: /d\n"),
        "not a YAML mapping",
    ),
    (
        "harbor-yml-no-hostname",
        lambda w: w.harbor_yml(b"http:\n  port: 80\ndata_volume: /data\n"),
        "no 'hostname'",
    ),
    (
        "harbor-yml-tabs",
        lambda w: w.harbor_yml(b"hostname: a\nhttp:\n\tport: 80\n"),
        "not valid YAML",
    ),
    ("harbor-yml-binary", lambda w: w.harbor_yml(bytes(range(256)) * 8), "harbor.yml"),
    (
        "harbor-yml-missing",
        lambda w: (w.root / "opt/harbor/harbor.yml").unlink() or w.install(targets="harbor"),
        "does not exist",
    ),
    # --- os-release
    ("os-release-missing", lambda w: w.os_release(None), "does not exist"),
    (
        "os-release-garbage",
        lambda w: w.os_release(b"\xff\xfe\x00garbage\n===\n'\"\n"),
        "os-release",
    ),
    (
        "os-release-no-id",
        lambda w: w.os_release(b"NAME=whatever\nVERSION=1\n"),
        "unsupported distribution",
    ),
    ("os-release-unknown-family", lambda w: w.os_release(b'NAME="Plan 9"\nID=plan9\n'), "plan9"),
    # --- tlsprov.toml (provision)
    ("config-not-toml", lambda w: w.config("this is [not toml\n"), "tlsprov.toml"),
    ("config-binary", lambda w: w.config("\x00\x01\x02 [harbor] \x7f"), "tlsprov.toml"),
    (
        "config-missing-file",
        lambda w: ["provision", "--config", str(w.base / "none.toml")],
        "none.toml",
    ),
    ("config-no-harbor", lambda w: w.config(w.good_config(harbor="")), "harbor"),
    (
        "config-targets-empty",
        lambda w: w.config(
            w.good_config(install=f'root = "{w.root}"\ntargets = []\nverify = false')
        ),
        "install.targets",
    ),
    (
        "config-hostname-number",
        lambda w: w.config(w.good_config(harbor="hostname = 42\nhttps_port = 8443")),
        "hostname",
    ),
    (
        "config-port-too-big",
        lambda w: w.config(w.good_config(harbor='hostname = "harbor.test"\nhttps_port = 70000')),
        "https_port",
    ),
    (
        "config-bad-alt-name",
        lambda w: w.config(
            w.good_config(harbor='hostname = "harbor.test"\nalt_names = ["not a name!"]')
        ),
        "alt_names",
    ),
    (
        "config-targets-string",
        lambda w: w.config(w.good_config(install=f'root = "{w.root}"\ntargets = "harbor"')),
        "targets",
    ),
    (
        "config-unknown-target",
        lambda w: w.config(
            w.good_config(install=f'root = "{w.root}"\ntargets = ["harbor", "nginx"]')
        ),
        "nginx",
    ),
    (
        "config-unknown-provider",
        lambda w: w.config(
            w.good_config(provider='name = "nosuchca"', **{"provider.selfsigned": ""})
        ),
        "nosuchca",
    ),
    (
        "config-provider-bad-option",
        lambda w: w.config(
            w.good_config(**{"provider.selfsigned": f'ca_dir = "{w.ca_dir}"\nkey_type = "ec9999"'})
        ),
        "ec9999",
    ),
    ("config-renew-before", lambda w: w.config(w.good_config(renew='before = "250%"')), "before"),
    (
        "config-harbor-yml-broken",
        lambda w: w.harbor_yml(b"- a list\n") and w.config(w.good_config()),
        "not a YAML mapping",
    ),
    (
        "config-root-missing",
        lambda w: w.config(w.good_config(install=f'root = "{w.base / "nowhere"}"')),
        "",
    ),
]

# Run again as a real process: one of each kind.
SUBPROCESS = {
    "cli-port-text", "cli-unknown-target", "pem-crt-der", "pem-key-mismatch",
    "harbor-yml-list", "os-release-unknown-family", "config-not-toml", "config-unknown-provider",
}  # fmt: skip


def _foreign_plugins() -> str:
    names = {ep.name for ep in md.entry_points(group="tlsprov")}
    return ",".join(sorted(names - BUNDLED))


@pytest.fixture
def world(
    tmp_path: Path, bundles: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    box = sandbox()
    base = Path(box.base)
    shutil.copytree(bundles.a, base / "bundle")
    shutil.copytree(bundles.b, base / "other")
    shutil.copytree(bundles.a.parent / "CA", base / "ca")
    for name in ("home", "xdg"):
        (base / name).mkdir()
    env = {
        **box.env,
        "HOME": str(base / "home"),
        "XDG_DATA_HOME": str(base / "xdg"),
        "TLSPROV_DISABLE_PLUGINS": _foreign_plugins(),
    }
    box.env.clear()
    box.env.update(env)
    for key in [k for k in os.environ if k.startswith("TLSPROV_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(base)
    yield World(
        base=base, box=box, bundle=base / "bundle", other=base / "other", ca_dir=base / "ca"
    )


def _check(code: int, stderr: str, expect: str, before: Any, after: Any) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    line = lines[0]
    assert line.startswith("tlsprov: error: "), line
    assert "internal error" not in line, line
    assert expect in line, line
    assert code in (1, 2), (code, line)
    assert after == before, S.snapshot_diff(before, after)


@pytest.mark.parametrize(("build", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_in_process(
    build: Build, expect: str, world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = build(world)
    before = tree_snapshot(world.base)
    capsys.readouterr()
    code = main(argv)
    captured = capsys.readouterr()
    _check(code, captured.err, expect, before, tree_snapshot(world.base))


@pytest.mark.parametrize(
    ("build", "expect"),
    [c[1:] for c in CASES if c[0] in SUBPROCESS],
    ids=[c[0] for c in CASES if c[0] in SUBPROCESS],
)
def test_bad_input_as_a_process(build: Build, expect: str, world: World) -> None:
    argv = build(world)
    before = tree_snapshot(world.base)
    proc = subprocess.run(
        [sys.executable, "-m", "tlsprov", *argv],
        capture_output=True, text=True, env=world.box.env, cwd=world.base, timeout=60,
    )  # fmt: skip
    _check(proc.returncode, proc.stderr, expect, before, tree_snapshot(world.base))


def test_the_matrix_is_big_enough() -> None:
    assert len(CASES) + len(ACME_MODES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


def test_garbage_daemon_json_is_a_warning_not_a_failure(world: World, capsys: Any) -> None:
    daemon = world.root / "etc" / "docker" / "daemon.json"
    daemon.write_bytes(b"{ this is: not json,,, \x00")
    capsys.readouterr()
    code = main(world.install(targets="docker"))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err and "tlsprov: error" not in err, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert any("daemon.json" in line for line in warnings), err
    assert daemon.read_bytes() == b"{ this is: not json,,, \x00"  # reported, never rewritten
    installed = world.box.certs_d(8443) / "ca.crt"
    assert installed.read_bytes() == (world.bundle / "ca.crt").read_bytes()


# --- ACME servers that misbehave -----------------------------------------------------------

ACME_MODES = {
    "garbage": "ACME",
    "not-a-directory": "ACME",
    "server-error": "ACME",
    "hang": "ACME server",
    "close": "ACME server",
    "reset": "ACME server",
}
ACME_TIMEOUT = "3"


@pytest.fixture(scope="module")
def acme_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for 127.0.0.1: (cert, key, ca)."""
    base = tmp_path_factory.mktemp("badacme")
    env = S.clean_env(HOME=str(base))
    for argv in (
        ["ca", "init", "--ca-dir", str(base / "ca"), "--key-type", "ec256"],
        ["issue", "127.0.0.1", "--ca-dir", str(base / "ca"), "--out", str(base / "srv"),
         "--key-type", "ec256"],
    ):  # fmt: skip
        result = S.run_tlsprov(argv, env)
        assert result.returncode == 0, S.describe(result)
    srv = base / "srv"
    return srv / "127.0.0.1.crt", srv / "127.0.0.1.key", srv / "ca.crt"


@pytest.mark.parametrize("mode", list(ACME_MODES))
def test_bad_acme_server(
    mode: str, world: World, acme_tls: tuple[Path, Path, Path], capsys: Any
) -> None:
    from tlsprov_reliability_badacme import BadAcme  # loaded by conftest

    cert, key, ca = acme_tls
    server = BadAcme(cert, key, mode)
    try:
        argv = [
            "issue", S.HOST, "--provider", "letsencrypt", "--directory", server.url,
            "--ca-bundle", str(ca), "--agree-tos", "--account-dir", str(world.base / "acct"),
            "--acme-timeout", ACME_TIMEOUT, "--http-address", "127.0.0.1",
            "--http-port", str(S.free_port()), "--out", str(world.base / "out"),
            "--key-type", "ec256",
        ]  # fmt: skip
        before = tree_snapshot(world.base)
        capsys.readouterr()
        code = main(argv)
        err = capsys.readouterr().err
    finally:
        server.stop()
    _check(code, err, ACME_MODES[mode], before, tree_snapshot(world.base))
