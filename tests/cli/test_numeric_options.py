"""Every numeric option refuses negative, non-finite and absurd values in one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

BAD = ["-1", "nan", "inf", "-inf", "1e999", "ten"]

# (argv before the value, the option, argv after); {tmp} is the test's folder
OPTIONS: list[tuple[tuple[str, ...], str, tuple[str, ...]]] = [
    (("install", "--bundle", "{tmp}/b", "--host", "harbor.test", "--root", "{tmp}/root",
      "--state-dir", "{tmp}/state"), "--lock-timeout", ()),
    (("rollback", "--root", "{tmp}/root", "--state-dir", "{tmp}/state"), "--lock-timeout", ()),
    (("verify", "harbor.test:1", "--ca", "{tmp}/ca.crt", "--connect", "127.0.0.1:1"),
     "--timeout", ()),
    (("verify", "harbor.test:1", "--ca", "{tmp}/ca.crt", "--connect", "127.0.0.1:1"),
     "--min-days", ()),
    (("provision", "--config", "{tmp}/c.toml"), "--verify-timeout", ()),
    (("issue", "harbor.test", "--provider", "letsencrypt", "--out", "{tmp}/out"),
     "--http-port", ()),
    (("issue", "harbor.test", "--provider", "letsencrypt", "--out", "{tmp}/out"),
     "--acme-timeout", ()),
    (("issue", "harbor.test", "--provider", "letsencrypt", "--out", "{tmp}/out"),
     "--dns-propagation-timeout", ()),
    (("issue", "harbor.test", "--out", "{tmp}/out"), "--days", ()),
    (("install", "--bundle", "{tmp}/b", "--host", "harbor.test", "--root", "{tmp}/root"),
     "--port", ()),
]  # fmt: skip


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    ("before", "option", "after"),
    OPTIONS,
    ids=[f"{b[0]}{o}" for b, o, _ in OPTIONS],
)
def test_numeric_option_refuses_bad_values(
    cli, tree, tmp_path: Path, before, option, after, value
) -> None:
    # issue 11 item 17: '--lock-timeout -1' was accepted
    (tmp_path / "root").mkdir()
    (tmp_path / "ca.crt").write_text("not used\n")
    snap = tree(tmp_path)
    argv = [a.format(tmp=tmp_path) for a in before]
    res = cli(*argv, f"{option}={value}", *after)
    assert res.code == 2, (res.code, res.err)
    assert len(res.err_lines) == 1, res.err
    assert option in res.err_lines[0], res.err
    assert "internal error" not in res.err
    assert tree(tmp_path) == snap


def test_sane_values_still_work(cli, tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    res = cli("rollback", "--root", tmp_path / "root", "--lock-timeout", "0.5")
    assert res.code == 1 and "nothing to roll back" in res.err  # parsed fine, nothing to do


def test_lock_timeout_minus_one_as_typed(cli, tmp_path: Path) -> None:
    # issue 11 item 17, exactly as reported: '--lock-timeout -1'
    (tmp_path / "root").mkdir()
    res = cli("rollback", "--root", tmp_path / "root", "--lock-timeout", "-1")
    assert res.code == 2
    assert res.err_lines == [
        "tlsprov: error: tlsprov rollback: argument --lock-timeout: '-1' must be a number of "
        "seconds from 0 to 86400"
    ]


def test_verify_endpoint_refuses_a_non_finite_timeout() -> None:
    from tlsprov.errors import InputError
    from tlsprov.pki.verify import verify_endpoint

    with pytest.raises(InputError, match="timeout"):
        verify_endpoint("harbor.test", 443, ca_pem=b"", timeout=float("inf"))
