"""Bad input: one clear line on stderr, exit 2, no traceback, and no file changed anywhere.

Each case prepares a CA folder and an output folder, snapshots both (paths, modes, contents),
runs the command, and compares the snapshots.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Setup:
    """The folders a case works on."""

    ca: Path
    other_ca: Path
    out: Path
    tmp: Path


@pytest.fixture
def setup(make_ca, cli, tmp_path) -> Setup:
    ca = make_ca("ca")
    other = make_ca("other")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("existing content\n")
    return Setup(ca=ca, other_ca=other, out=out, tmp=tmp_path)


def _break_ca_crt_is_dir(s: Setup) -> None:
    (s.ca / "ca.crt").unlink()
    (s.ca / "ca.crt").mkdir()


def _break_ca_crt_garbage(s: Setup) -> None:
    (s.ca / "ca.crt").write_bytes(b"this is not a certificate\n")


def _break_ca_crt_malformed_pem(s: Setup) -> None:
    lines = (s.ca / "ca.crt").read_text().splitlines()
    lines[2] = "#" * len(lines[2])
    (s.ca / "ca.crt").write_text("\n".join(lines) + "\n")


def _break_key_mismatch(s: Setup) -> None:
    shutil.copyfile(s.other_ca / "ca.key", s.ca / "ca.key")


def _break_non_ca_cert(s: Setup, cli: Callable[..., object]) -> None:
    leaf_dir = s.tmp / "leaf"
    res = cli(
        "issue", "leaf.test", "--ca-dir", s.other_ca, "--out", leaf_dir, "--key-type", "ec256"
    )
    assert res.code == 0  # type: ignore[attr-defined]
    shutil.copyfile(leaf_dir / "leaf.test.crt", s.ca / "ca.crt")
    shutil.copyfile(leaf_dir / "leaf.test.key", s.ca / "ca.key")


def _encrypted_ca(s: Setup, cli: Callable[..., object]) -> None:
    res = cli(
        "ca", "init", "--ca-dir", s.ca, "--key-type", "ec256", "--force",
        "--ca-passphrase", "right passphrase",
    )  # fmt: skip
    assert res.code == 0  # type: ignore[attr-defined]


ISSUE = ("issue", "harbor.test", "--key-type", "ec256")

# (id, argv after substitution of {ca} {out} {tmp}, preparation, expected text in the line)
CASES: list[tuple[str, tuple[str, ...], str | None, str]] = [
    ("subj-no-slash", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec256",
                       "--subject", "CN=foo"), None, "does not start with '/'"),
    ("subj-no-value", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec256",
                       "--subject", "/O=x/CN"), None, "no '=value'"),
    ("subj-unknown-attr", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec256",
                           "--subject", "/XX=foo"), None, "unknown attribute 'XX'"),
    ("subj-empty-value", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec256",
                          "--subject", "/CN="), None, "empty value"),
    ("subj-bad-country", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec256",
                          "--subject", "/C=Germany/CN=x"), None, "two-letter country"),
    ("subj-trailing-backslash", ("ca", "init", "--ca-dir", "{ca}", "--force",
                                 "--key-type", "ec256", "--subject", "/CN=a\\"), None,
     "backslash"),
    ("invalid-hostname", (*ISSUE[:1], "bad..name", *ISSUE[2:]), None, "not a valid host name"),
    ("dotdot-name", (*ISSUE[:1], "../evil", *ISSUE[2:]), None, "not a valid host name"),
    ("slash-name", (*ISSUE[:1], "a/b", *ISSUE[2:]), None, "not a valid host name"),
    ("slash-alt-name", (*ISSUE, "--alt-name", "../../etc/passwd"), None, "not a valid host"),
    ("empty-host", (*ISSUE[:1], "", *ISSUE[2:]), None, "empty host name"),
    ("rsa1024", ("issue", "harbor.test", "--key-type", "rsa1024"), None,
     "unknown key type 'rsa1024'; choose one of: rsa2048"),
    ("unknown-key-type", ("issue", "harbor.test", "--key-type", "dsa"), None,
     "unknown key type 'dsa'"),
    ("ca-unknown-key-type", ("ca", "init", "--ca-dir", "{ca}", "--force", "--key-type", "ec521"),
     None, "unknown key type 'ec521'"),
    ("zero-days", (*ISSUE, "--days", "0"), None, "at least 1 day, got 0"),
    ("negative-days", (*ISSUE, "--days", "-30"), None, "at least 1 day, got -30"),
    ("huge-days", (*ISSUE, "--days", "99999999"), None, "at most"),
    ("ca-zero-days", ("ca", "init", "--ca-dir", "{ca}", "--force", "--days", "0"), None,
     "at least 1 day"),
    ("ca-crt-is-dir", ISSUE, "ca_crt_is_dir", "ca.crt"),
    ("ca-crt-garbage", ISSUE, "ca_crt_garbage", "holds no PEM certificate"),
    ("ca-crt-malformed-pem", ISSUE, "ca_crt_malformed_pem", "malformed PEM certificate"),
    ("key-mismatch", ISSUE, "key_mismatch", "does not belong to"),
    ("non-ca-cert", ISSUE, "non_ca_cert", "is not a CA certificate"),
    ("wrong-passphrase", (*ISSUE, "--ca-passphrase", "wrong"), "encrypted", "wrong passphrase"),
    ("missing-passphrase", ISSUE, "encrypted", "no passphrase was given"),
    ("passphrase-env-unset", (*ISSUE, "--ca-passphrase-env", "TLSPROV_TEST_UNSET_VAR"),
     "encrypted", "TLSPROV_TEST_UNSET_VAR is not set"),
    ("existing-ca-without-force", ("ca", "init", "--ca-dir", "{ca}", "--key-type", "ec256"),
     None, "a CA already exists"),
    ("out-is-a-file", ("issue", "harbor.test", "--key-type", "ec256", "--out", "{out}/keep.txt"),
     None, "is not a folder"),
    ("out-unwritable", ("issue", "harbor.test", "--key-type", "ec256", "--out",
                        "/proc/tlsprov-test-out"), None, "cannot write to /proc"),
    ("empty-alt-name", (*ISSUE, "--alt-name", ""), None, "empty host name"),
    # --ca-dir makes sure nothing can reach a real ACME server: the letsencrypt provider is
    # "not implemented yet" today, and rejects the unknown ca_dir option once it is.
    ("letsencrypt-issue", ("issue", "harbor.test", "--provider", "letsencrypt",
                           "--ca-dir", "{ca}"), None,
     "letsencrypt"),
    ("letsencrypt-ca-init", ("ca", "init", "--provider", "letsencrypt"), None, "letsencrypt"),
    ("unknown-option", (*ISSUE, "--colour", "blue"), None, "unrecognized arguments: --colour"),
]  # fmt: skip

PREPARE: dict[str, Callable[..., None]] = {
    "ca_crt_is_dir": _break_ca_crt_is_dir,
    "ca_crt_garbage": _break_ca_crt_garbage,
    "ca_crt_malformed_pem": _break_ca_crt_malformed_pem,
    "key_mismatch": _break_key_mismatch,
}


def _argv(template: tuple[str, ...], s: Setup) -> list[str]:
    argv = [a.format(ca=s.ca, out=s.out, tmp=s.tmp) for a in template]
    if argv[0] == "issue" and "--out" not in argv:
        argv += ["--out", str(s.out)]
    if "--ca-dir" not in argv and "--provider" not in argv:
        argv += ["--ca-dir", str(s.ca)]
    return argv


@pytest.mark.parametrize(
    ("argv", "prepare", "expected"),
    [pytest.param(a, p, e, id=i) for i, a, p, e in CASES],
)
def test_bad_input_in_process(cli, tree, setup, monkeypatch, argv, prepare, expected):
    monkeypatch.delenv("TLSPROV_TEST_UNSET_VAR", raising=False)
    if prepare in PREPARE:
        PREPARE[prepare](setup)
    elif prepare == "non_ca_cert":
        _break_non_ca_cert(setup, cli)
    elif prepare == "encrypted":
        _encrypted_ca(setup, cli)
    before = tree(setup.ca, setup.out, setup.tmp / "xdg")
    res = cli(*_argv(argv, setup))
    after = tree(setup.ca, setup.out, setup.tmp / "xdg")
    assert res.code == 2, (res.code, res.err)
    assert len(res.err_lines) == 1, res.err
    line = res.err_lines[0]
    assert line.startswith("tlsprov: error: ")
    assert expected in line
    assert "Traceback" not in res.err
    assert res.out == ""
    assert before == after


def test_bad_input_json_mode_is_one_document(cli, setup):
    import json

    res = cli("issue", "../x", "--json", "--ca-dir", setup.ca, "--out", setup.out)
    assert res.code == 2
    doc = json.loads(res.out)
    assert doc["ok"] is False
    assert doc["exit_code"] == 2
    assert "not a valid host name" in doc["error"]
    assert len(res.err_lines) == 1


def test_unknown_provider_exact_message(cli, setup, tree):
    before = tree(setup.ca, setup.out)
    res = cli("issue", "harbor.test", "--provider", "x", "--out", setup.out)
    assert res.code == 2
    assert res.err_lines == [
        "tlsprov: error: unknown provider 'x'; choose one of: letsencrypt, selfsigned"
    ]
    assert tree(setup.ca, setup.out) == before


SUBPROCESS_CASES = [
    (("issue", "a/b"), "not a valid host name"),
    (("issue", "harbor.test", "--key-type", "rsa1024"), "unknown key type 'rsa1024'"),
    (("issue", "harbor.test", "--days", "-1"), "at least 1 day"),
    (("issue", "harbor.test", "--provider", "x"),
     "unknown provider 'x'; choose one of: letsencrypt, selfsigned"),
    (("issue", "harbor.test", "--provider", "letsencrypt", "--ca-dir", "{tmp}/ca"),
     "letsencrypt"),
    (("ca", "init", "--subject", "CN=nope"), "does not start with '/'"),
    (("inspect", "{tmp}/garbage.pem"), "holds no certificate"),
    (("inspect", "{tmp}/missing.pem"), "does not exist"),
    (("inspect", "{tmp}/garbage.pem", "--json"), "holds no certificate"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "expected"), SUBPROCESS_CASES)
def test_bad_input_subprocess(tlsprov_proc, tmp_path, argv, expected):
    """The real console script: exact exit code, one stderr line, never a traceback."""
    import importlib.metadata as md

    (tmp_path / "garbage.pem").write_bytes(b"\x00\x01 not a certificate at all\n")
    foreign = {ep.name for ep in md.entry_points(group="tlsprov")} - {
        "selfsigned", "letsencrypt", "builtin-targets",
    }  # fmt: skip
    env = {
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "TLSPROV_CA_DIR": str(tmp_path / "ca"),
        "TLSPROV_DISABLE_PLUGINS": ",".join(sorted(foreign)),
    }
    before = sorted(p.name for p in tmp_path.iterdir())
    res = tlsprov_proc(*[a.format(tmp=tmp_path) for a in argv], env=env, cwd=tmp_path)
    assert res.code == 2, res.err
    assert "Traceback" not in res.err
    lines = [line for line in res.err.splitlines() if line.strip()]
    assert len(lines) == 1, res.err
    assert lines[0].startswith("tlsprov: error: ")
    assert expected in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no CA, no bundle written


@pytest.mark.parametrize("name", ["garbage", "missing", "folder", "key-only", "bad-der"])
def test_inspect_bad_files(cli, make_ca, tmp_path, name):
    ca_dir = make_ca()
    files = {
        "garbage": tmp_path / "garbage.pem",
        "missing": tmp_path / "missing.pem",
        "folder": tmp_path,
        "key-only": ca_dir / "ca.key",
        "bad-der": tmp_path / "bad.der",
    }
    (tmp_path / "garbage.pem").write_text("hello\n")
    (tmp_path / "bad.der").write_bytes(b"\x30\x82\x01\x00" + b"\x00" * 20)
    res = cli("inspect", files[name])
    assert res.code == 2
    assert len(res.err_lines) == 1
    assert res.err_lines[0].startswith(f"tlsprov: error: {files[name]}")
    assert res.out == ""
