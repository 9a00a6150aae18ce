"""verify_endpoint and `tlsprov verify` against a real TLS server on 127.0.0.1, with negative
controls: wrong CA, wrong host, expired, CN-only, 404 on /v2/, a closed port."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest

from tlsprov.cli import main
from tlsprov.cli.verify_cmd import parse_host_port
from tlsprov.errors import InputError
from tlsprov.pki.verify import verify_endpoint


def _port(server) -> int:
    return int(server.server_address[1])


def _check(report, name):
    (found,) = [c for c in report.checks if c.name == name]
    return found


def test_dns_name_reached_through_connect(ca, serve):
    server = serve(ca.bundle(["harbor.test"]))
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == [
        "connect",
        "handshake",
        "names",
        "server-auth",
        "days-left",
        "v2",
    ]
    assert report.http_status == 200
    assert report.sans == ("harbor.test",)
    assert report.subject == "CN=harbor.test"
    assert report.days_left is not None and 85 <= report.days_left <= 90
    assert report.tls_version in {"TLSv1.2", "TLSv1.3"}
    assert server.requests == [("/v2/", f"harbor.test:{port}")]


def test_ip_host_with_ip_san_and_a_401_challenge(ca, serve):
    server = serve(ca.bundle(["127.0.0.1"]), status=401)
    report = verify_endpoint("127.0.0.1", _port(server), ca_pem=ca.pem)
    assert report.ok, report.checks
    assert report.http_status == 401
    assert "Bearer" in _check(report, "v2").detail


def test_intermediate_chain_is_verified(ca, serve):
    inter = ca.intermediate()
    server = serve(inter.bundle(["harbor.test"], chain=[inter], ca_pem=ca.pem))
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert report.ok, report.checks


def test_wrong_ca_fails_the_handshake_but_reports_the_served_certificate(ca, serve, kit):
    server = serve(ca.bundle(["harbor.test"]))
    port = _port(server)
    stranger = kit.TestCA("stranger CA")
    report = verify_endpoint("harbor.test", port, ca_pem=stranger.pem, connect=("127.0.0.1", port))
    assert not report.ok
    detail = _check(report, "handshake").detail
    assert detail.startswith("certificate verify failed: ")
    assert "issuer" in detail
    assert report.subject == "CN=harbor.test"  # peeked for the report only
    assert "v2" not in [c.name for c in report.checks]
    assert server.requests == []


def test_wrong_host(ca, serve):
    server = serve(ca.bundle(["harbor.test"]))
    port = _port(server)
    report = verify_endpoint("other.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert not report.ok
    assert "mismatch" in _check(report, "handshake").detail.lower()
    assert not _check(report, "names").ok
    assert "other.test" in _check(report, "names").detail


def test_expired_certificate(ca, serve, kit):
    now = kit.now()
    server = serve(
        ca.bundle(
            ["harbor.test"],
            not_before=now - dt.timedelta(days=30),
            not_after=now - dt.timedelta(days=1),
        )
    )
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert not report.ok
    assert "expired" in _check(report, "handshake").detail
    assert not _check(report, "days-left").ok


def test_cn_only_certificate_is_rejected(ca, serve):
    server = serve(ca.bundle(["harbor.test"], san=False))
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert not report.ok
    assert not _check(report, "names").ok
    assert "CN-only" in _check(report, "names").detail


def test_few_days_left_fails_min_days(ca, serve, kit):
    server = serve(ca.bundle(["harbor.test"], not_after=kit.now() + dt.timedelta(days=5)))
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert not report.ok
    assert _check(report, "handshake").ok
    assert "fewer than 14" in _check(report, "days-left").detail
    relaxed = verify_endpoint(
        "harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port), min_days=3
    )
    assert relaxed.ok


def test_not_a_registry(ca, serve):
    server = serve(ca.bundle(["harbor.test"]), status=404)
    port = _port(server)
    report = verify_endpoint("harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port))
    assert not report.ok
    assert [c.name for c in report.failed] == ["v2"]
    assert "404" in report.failed[0].detail
    skipped = verify_endpoint(
        "harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port), probe_v2=False
    )
    assert skipped.ok


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused(ca):
    port = _closed_port()
    report = verify_endpoint(
        "harbor.test", port, ca_pem=ca.pem, connect=("127.0.0.1", port), timeout=5
    )
    assert not report.ok
    assert [c.name for c in report.checks] == ["connect"]
    assert "refused" in report.checks[0].detail.lower()


def test_bad_arguments_raise_input_error(ca):
    with pytest.raises(InputError):
        verify_endpoint("not a host", 443, ca_pem=ca.pem)
    with pytest.raises(InputError):
        verify_endpoint("harbor.test", 0, ca_pem=ca.pem)
    with pytest.raises(InputError):
        verify_endpoint("harbor.test", 443, ca_pem=b"not a pem")
    with pytest.raises(InputError):
        verify_endpoint("harbor.test", 443, ca_pem=ca.pem, timeout=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("harbor.test", ("harbor.test", 443)),
        ("harbor.test:8443", ("harbor.test", 8443)),
        ("[::1]:8443", ("::1", 8443)),
        ("[::1]", ("::1", 443)),
        ("::1", ("::1", 443)),
        ("127.0.0.1:5000", ("127.0.0.1", 5000)),
    ],
)
def test_parse_host_port(text, expected):
    assert parse_host_port(text, 443) == expected


@pytest.mark.parametrize(
    "text", ["harbor.test:0", "harbor.test:99999", "harbor.test:x", ":443", "[::1"]
)
def test_parse_host_port_rejects(text):
    with pytest.raises(InputError):
        parse_host_port(text, 443)


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture
def ca_file(ca, tmp_path: Path) -> Path:
    path = tmp_path / "ca.crt"
    path.write_bytes(ca.pem)
    return path


def test_cli_ok(ca, serve, ca_file, capsys):
    port = _port(serve(ca.bundle(["harbor.test"]), status=401))
    code = main(
        ["verify", f"harbor.test:{port}", "--ca", str(ca_file), "--connect", f"127.0.0.1:{port}"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"OK: harbor.test:{port} via 127.0.0.1:{port}")
    assert "/v2/ answered 401" in out


def test_cli_connect_port_defaults_to_the_host_port(ca, serve, ca_file, capsys):
    port = _port(serve(ca.bundle(["harbor.test"])))
    assert (
        main(["verify", f"harbor.test:{port}", "--ca", str(ca_file), "--connect", "127.0.0.1"]) == 0
    )


def test_cli_json(ca, serve, ca_file, capsys):
    port = _port(serve(ca.bundle(["127.0.0.1"])))
    code = main(["verify", f"127.0.0.1:{port}", "--ca", str(ca_file), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["ok"] is True
    assert data["http_status"] == 200
    assert {c["name"] for c in data["checks"]} >= {"handshake", "names", "v2"}


@pytest.mark.parametrize("case", ["wrong-ca", "wrong-host", "expired", "404", "refused"])
def test_cli_failures_exit_1(ca, serve, kit, tmp_path, capsys, case):
    now = kit.now()
    trusted = ca
    host = "harbor.test"
    if case == "expired":
        bundle = ca.bundle(
            ["harbor.test"],
            not_before=now - dt.timedelta(days=9),
            not_after=now - dt.timedelta(days=2),
        )
    else:
        bundle = ca.bundle(["harbor.test"])
    if case == "refused":
        port = _closed_port()
    else:
        port = _port(serve(bundle, status=404 if case == "404" else 200))
    if case == "wrong-ca":
        trusted = kit.TestCA("stranger")
    if case == "wrong-host":
        host = "wrong.test"
    ca_path = tmp_path / "trusted.crt"
    ca_path.write_bytes(trusted.pem)
    code = main(
        [
            "verify",
            f"{host}:{port}",
            "--ca",
            str(ca_path),
            "--connect",
            f"127.0.0.1:{port}",
            "--timeout",
            "5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith(f"FAILED: {host}:{port}")
    assert "FAIL" in out
    code = main(
        [
            "verify",
            f"{host}:{port}",
            "--ca",
            str(ca_path),
            "--connect",
            f"127.0.0.1:{port}",
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False


def test_cli_bad_input_exits_2(ca_file, tmp_path, capsys):
    assert main(["verify", "harbor.test:99999", "--ca", str(ca_file)]) == 2
    assert main(["verify", "harbor.test", "--ca", str(tmp_path / "missing.crt")]) == 2
    bad = tmp_path / "bad.crt"
    bad.write_text("nope")
    assert main(["verify", "harbor.test", "--ca", str(bad)]) == 2
    assert main(["verify", "harbor.test"]) == 2  # --ca is required
    err = capsys.readouterr().err
    assert "tlsprov: error:" in err
    assert "Traceback" not in err
