"""The harbor target: certificate files, the harbor.yml edit, prepare and compose."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest
from ruamel.yaml import YAML

from tlsprov.errors import InputError
from tlsprov.install.targets.harbor import HarborTarget
from tlsprov.install.targets.harboryml import HarborYml, add_https_block, uncomment_https
from tlsprov.models import CommandStep, FileWrite, Plan

DATA = Path(__file__).resolve().parent.parent / "data" / "harbor"


def _writes(plan: Plan) -> dict[str, FileWrite]:
    return {str(w.path): w for w in plan.writes}


def _yml(plan: Plan) -> str:
    return _writes(plan)["/opt/harbor/harbor.yml"].content.decode()


def _top_keys(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^([A-Za-z_]\w*):", text, re.MULTILINE)]


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def test_template_edit_keeps_comments_order_and_sets_https(
    harbor_install, ctx, bundle, plan_of
) -> None:
    original = harbor_install("tmpl").read_text()
    plan = plan_of(HarborTarget(), bundle, ctx(port=8443))
    text = _yml(plan)
    for comment in _comments(original):
        assert comment in text, comment
    assert _top_keys(text) == _top_keys(original)
    data = YAML(typ="safe").load(text)
    assert data["hostname"] == "harbor.test"
    assert data["https"] == {
        "port": 8443,
        "certificate": "/data/cert/harbor.test.crt",
        "private_key": "/data/cert/harbor.test.key",
    }
    assert data["http"] == {"port": 80}
    assert "\ndata_volume: /data\n" in text
    # Only the four edited lines differ; sequences keep the template's indentation.
    changed = [
        (a, b) for a, b in zip(original.splitlines(), text.splitlines(), strict=True) if a != b
    ]
    assert [b for _, b in changed] == [
        "hostname: harbor.test",
        "  port: 8443",
        "  certificate: /data/cert/harbor.test.crt",
        "  private_key: /data/cert/harbor.test.key",
    ]
    assert "  job_loggers:\n    - STD_OUTPUT\n    - FILE\n    # - DB\n" in text


def test_files_modes_and_descriptions(harbor_install, ctx, bundle, plan_of) -> None:
    harbor_install("tmpl")
    writes = _writes(plan_of(HarborTarget(), bundle, ctx()))
    assert list(writes) == [
        "/data/cert/harbor.test.crt",
        "/data/cert/harbor.test.key",
        "/data/ca_download/ca.crt",
        "/opt/harbor/harbor.yml",
    ]
    crt, key, ca, yml = writes.values()
    assert crt.content == bundle.fullchain_pem and crt.mode == 0o644 and not crt.secret
    assert key.content == bundle.private_key_pem and key.mode == 0o600 and key.secret
    assert key.dir_mode == 0o700
    assert ca.content == bundle.ca_pem
    assert yml.mode == 0o640  # the existing file's mode is kept
    assert all(w.description for w in writes.values())
    assert b"PRIVATE KEY" not in yml.content


def test_http_only_variant_is_uncommented(harbor_install, ctx, bundle, plan_of) -> None:
    original = harbor_install("http-only").read_text()
    text = _yml(plan_of(HarborTarget(), bundle, ctx()))
    data = YAML(typ="safe").load(text)
    assert data["hostname"] == "harbor.test"
    assert data["https"]["port"] == 443
    assert data["https"]["certificate"] == "/data/cert/harbor.test.crt"
    assert data["https"]["private_key"] == "/data/cert/harbor.test.key"
    assert "# https:" not in text
    assert "\nhttps:\n  # https port, 443 by default\n  port: 443\n" in text
    assert "  # strong_ssl_ciphers: false\n" in text
    assert _top_keys(text) == [*_top_keys(original)[:2], "https", *_top_keys(original)[2:]]
    # The neighbouring commented blocks stay commented.
    assert "# internal_tls:\n#   # true turns internal tls on\n" in text
    assert "# ip_family:\n" in text


def test_edit_is_idempotent(harbor_install, ctx, bundle, plan_of, root) -> None:
    path = harbor_install("http-only")
    first = _yml(plan_of(HarborTarget(), bundle, ctx()))
    path.write_text(first)
    assert _yml(plan_of(HarborTarget(), bundle, ctx())) == first


def test_https_block_created_after_http_when_absent() -> None:
    text = "# cfg\nhostname: a.test\n\n# http\nhttp:\n  port: 80\n\n# admin\nadmin: x\n"
    added = add_https_block(text)
    assert added.index("https:") > added.index("  port: 80")
    assert added.index("https:") < added.index("# admin")
    config = HarborYml.parse(text, source="harbor.yml")
    config.enable_https(
        hostname="h.test",
        port=443,
        certificate=PurePosixPath("/d/cert/h.crt"),
        private_key=PurePosixPath("/d/cert/h.key"),
    )
    out = config.dump()
    assert YAML(typ="safe").load(out)["https"]["private_key"] == "/d/cert/h.key"
    assert _top_keys(out) == ["hostname", "http", "https", "admin"]
    assert "# cfg" in out and "# admin" in out and "# http" in out


def test_uncomment_leaves_live_https_alone() -> None:
    text = "hostname: a\nhttps:\n  port: 443\n# https:\n#   port: 1\n"
    assert uncomment_https(text) == text


def test_quoted_data_volume_becomes_plain(put, ctx, bundle, plan_of) -> None:
    put("/opt/harbor/prepare", "#!/bin/sh\n", 0o755)
    put("/opt/harbor/harbor.yml", 'hostname: old\nhttp:\n  port: 80\ndata_volume: "/srv/hb"\n')
    plan = plan_of(HarborTarget(), bundle, ctx())
    text = _yml(plan)
    assert "\ndata_volume: /srv/hb\n" in text
    assert "/srv/hb/cert/harbor.test.key" in _writes(plan)
    assert "/srv/hb/ca_download/ca.crt" in _writes(plan)


def test_context_data_volume_moves_only_the_cert_files(
    harbor_install, ctx, bundle, plan_of
) -> None:
    harbor_install("tmpl")
    plan = plan_of(HarborTarget(), bundle, ctx(data_volume=PurePosixPath("/srv/certs")))
    assert "/srv/certs/cert/harbor.test.crt" in _writes(plan)
    assert "certificate: /srv/certs/cert/harbor.test.crt" in _yml(plan)
    assert "\ndata_volume: /data\n" in _yml(plan)


@pytest.mark.parametrize("trivy", [False, True])
def test_commands_and_trivy_detection(harbor_install, ctx, bundle, plan_of, trivy) -> None:
    harbor_install("tmpl", trivy=trivy)
    plan = plan_of(HarborTarget(), bundle, ctx())
    prepare, down, up = plan.commands
    cwd = PurePosixPath("/opt/harbor")
    expected = ("./prepare", "--with-trivy") if trivy else ("./prepare",)
    assert prepare == CommandStep(argv=expected, cwd=cwd, reason=prepare.reason)
    assert prepare.fallback_argv is None and not prepare.always
    assert down.argv == ("docker", "compose", "down", "-v")
    assert down.fallback_argv == ("docker-compose", "down", "-v")
    assert up.argv == ("docker", "compose", "up", "-d")
    assert up.fallback_argv == ("docker-compose", "up", "-d")
    for step in (down, up):
        assert step.cwd == cwd
        assert step.probe_argv == ("docker", "compose", "version")
    assert all(step.reason for step in plan.commands)


def test_no_compose_file_means_no_trivy(harbor_install, ctx, bundle, plan_of, root) -> None:
    harbor_install("tmpl")
    (root / "opt/harbor/docker-compose.yml").unlink()
    assert plan_of(HarborTarget(), bundle, ctx()).commands[0].argv == ("./prepare",)


def test_external_url_warns(put, ctx, bundle, plan_of) -> None:
    put("/opt/harbor/prepare", "#!/bin/sh\n", 0o755)
    put("/opt/harbor/harbor.yml", "hostname: a\nexternal_url: https://proxy.test\n")
    plan = plan_of(HarborTarget(), bundle, ctx())
    assert any("external_url" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("hostname: [a\nhttp:\n  port: 80\n", "is not valid YAML (line 2"),
        ("hostname: a\nhostname: b\n", "is not valid YAML (line 2"),
        ("- a\n- b\n", "is not a YAML mapping"),
        ("", "is not a YAML mapping"),
        ("http:\n  port: 80\n", "has no 'hostname' key"),
    ],
)
def test_bad_harbor_yml_is_refused(put, ctx, bundle, plan_of, content, fragment) -> None:
    put("/opt/harbor/prepare", "#!/bin/sh\n", 0o755)
    put("/opt/harbor/harbor.yml", content)
    with pytest.raises(InputError) as info:
        plan_of(HarborTarget(), bundle, ctx())
    assert "/opt/harbor/harbor.yml" in info.value.message
    assert fragment in info.value.message
    assert info.value.hint


def test_missing_harbor_yml(ctx, bundle, plan_of) -> None:
    with pytest.raises(InputError, match=r"/opt/harbor/harbor.yml does not exist") as info:
        plan_of(HarborTarget(), bundle, ctx())
    assert "--harbor-dir" in (info.value.hint or "")


def test_missing_prepare(harbor_install, ctx, bundle, plan_of) -> None:
    harbor_install("tmpl", prepare=False)
    with pytest.raises(InputError, match="has no 'prepare' script"):
        plan_of(HarborTarget(), bundle, ctx())


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "reg.mydomain.com", "REG.mydomain.com."])
def test_hostnames_harbor_rejects(harbor_install, ctx, bundle, plan_of, host) -> None:
    harbor_install("tmpl")
    with pytest.raises(InputError, match="Harbor refuses") as info:
        plan_of(HarborTarget(), bundle, ctx(host=host))
    assert info.value.hint


def test_localhost_is_only_a_warning(harbor_install, ctx, bundle_for, plan_of) -> None:
    harbor_install("tmpl")  # prepare accepts it; clients elsewhere cannot use it
    plan = plan_of(HarborTarget(), bundle_for("localhost"), ctx(host="localhost"))
    assert any("reaches Harbor only from this machine" in w for w in plan.warnings)


def test_client_only_refused(harbor_install, ctx, bundle, plan_of) -> None:
    harbor_install("tmpl")
    with pytest.raises(InputError) as info:
        plan_of(HarborTarget(), bundle, ctx(client_only=True))
    assert info.value.one_line() == (
        "the harbor target runs on the Harbor host; drop --client-only or the harbor target"
    )


def test_other_harbor_dir(put, ctx, bundle, plan_of) -> None:
    put("/srv/harbor/prepare", "#!/bin/sh\n", 0o755)
    put("/srv/harbor/harbor.yml", (DATA / "harbor.yml.tmpl").read_text())
    plan = plan_of(HarborTarget(), bundle, ctx(harbor_dir=PurePosixPath("/srv/harbor")))
    assert "/srv/harbor/harbor.yml" in _writes(plan)
    assert {step.cwd for step in plan.commands} == {PurePosixPath("/srv/harbor")}


LIVE = (
    "hostname: harbor.test\nhttps:\n  port: 8443\n"
    "  certificate: /data/cert/a.crt\n  private_key: /data/cert/a.key\n"
)
# text, and whether parsing leaves it as it is (so the values kept at parse time are used)
MISMATCH_CASES = {
    "live, matching": (LIVE, True),
    "live, other port": (LIVE.replace("8443", "9443"), True),
    "live, other hostname": (LIVE.replace("harbor.test", "old.test"), True),
    "live, no port (443)": (LIVE.replace("  port: 8443\n", ""), True),
    "null https": ("hostname: harbor.test\nhttps:\n", True),
    "commented https": ("hostname: harbor.test\n# https:\n#   port: 8443\n", False),
    "no https": ("hostname: harbor.test\nhttp:\n  port: 80\n", False),
}
WANTED = {
    "hostname": "harbor.test",
    "port": 8443,
    "certificate": PurePosixPath("/data/cert/a.crt"),
    "private_key": PurePosixPath("/data/cert/a.key"),
}


@pytest.mark.parametrize(
    ("text", "kept_values"), MISMATCH_CASES.values(), ids=MISMATCH_CASES.keys()
)
def test_https_mismatch_without_a_second_parse_answers_as_a_full_parse(
    text: str, kept_values: bool
) -> None:
    """When parsing changed nothing in the text, the mismatch comes from values kept at parse
    time; it must be what a fresh parse of the file gives, also after the document is edited."""
    config = HarborYml.parse(text, source="harbor.yml")
    assert (config.parsed_text is not None) is kept_values
    kept = config.https_mismatch(text, **WANTED)
    other = HarborYml.parse(text, source="harbor.yml")
    fresh = other.https_mismatch(text + "\n", **WANTED)  # a different text: parsed again
    assert kept == fresh
    assert (kept is None) == (text == LIVE)
    config.enable_https(
        hostname="new.test", port=7443, certificate=PurePosixPath("/x.crt"),
        private_key=PurePosixPath("/x.key"),
    )  # fmt: skip
    assert config.https_mismatch(text, **WANTED) == kept
