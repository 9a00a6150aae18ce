"""harbor.yml edits that Harbor's tools agree with, on every shape of harbor.yml we know.

The property: after tlsprov's edit, the parsed YAML differs from the original only in
``hostname`` and the https keys (``port``, ``certificate``, ``private_key``,
``strong_ssl_ciphers``). A prose comment uncommented into a key would break it.
"""

from __future__ import annotations

import copy
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from ruamel.yaml import YAML

from tlsprov.errors import InputError
from tlsprov.install.targets.harbor import HarborTarget
from tlsprov.install.targets.harboryml import HTTPS_KEYS, uncomment_https

DATA = Path(__file__).resolve().parent.parent / "data" / "harbor"

INLINE = {
    "no-https-block": "hostname: old.test\nhttp:\n  port: 80\ndata_volume: /data\n",
    "quoted-data-volume": 'hostname: old.test\nhttp:\n  port: 80\ndata_volume: "/srv/hb"\n',
    "single-quoted": "hostname: old.test\nhttp:\n  port: 80\ndata_volume: '/data'\n",
    "live-strong-ciphers": "hostname: a.test\nhttps:\n  port: 443\n  certificate: /c\n"
    "  private_key: /k\n  strong_ssl_ciphers: true\ndata_volume: /data\n",
    "crlf-commented": "hostname: a.test\r\nhttp:\r\n  port: 80\r\n# https:\r\n#   port: 443\r\n"
    "#   enable strong ssl ciphers (default: false)\r\n#   strong_ssl_ciphers: false\r\n",
    "hash-hash-prefix": "hostname: a.test\n## https:\n##   port: 443\n##   certificate: /x\n"
    "##   see the docs: https://goharbor.io\n##   private_key: /y\n",
}
DEMO = Path(__file__).resolve().parents[2] / "src" / "tlsprov" / "demo" / "harbor.yml.tmpl"
SHAPES = [*sorted(p.name for p in DATA.glob("harbor.yml.*")), "demo", *sorted(INLINE)]


def _text(shape: str) -> str:
    if shape == "demo":
        return DEMO.read_text(encoding="utf-8")
    return INLINE[shape] if shape in INLINE else (DATA / shape).read_text(encoding="utf-8")


def _without_edited_keys(doc: dict[str, Any]) -> dict[str, Any]:
    rest = copy.deepcopy(doc)
    rest.pop("hostname", None)
    https = rest.get("https")
    if isinstance(https, dict):
        for key in HTTPS_KEYS:
            https.pop(key, None)
        if not https:
            del rest["https"]
    return rest


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("port", [443, 8443])
def test_edit_changes_only_hostname_and_https_keys(shape, port, put, ctx, bundle, plan_of) -> None:
    original = _text(shape)
    put("/opt/harbor/harbor.yml", original)
    put("/opt/harbor/prepare", "#!/bin/sh\n", 0o755)
    plan = plan_of(HarborTarget(), bundle, ctx(port=port))
    (yml,) = [w for w in plan.writes if w.path == PurePosixPath("/opt/harbor/harbor.yml")]
    edited = yml.content.decode()
    safe = YAML(typ="safe")
    before, after = safe.load(original), safe.load(edited)
    assert _without_edited_keys(after) == _without_edited_keys(before), edited
    assert after["hostname"] == "harbor.test"
    assert after["https"]["port"] == port
    assert after["https"]["certificate"].endswith("/cert/harbor.test.crt")
    for key in after["https"]:
        assert key in HTTPS_KEYS, f"{shape}: junk https key {key!r}"
    if "data_volume" in after:
        assert f"\ndata_volume: {after['data_volume']}" in edited.replace("\r\n", "\n")


def test_migrated_prose_line_stays_a_comment() -> None:
    text = (DATA / "harbor.yml.migrated-2.15").read_text(encoding="utf-8")
    out = uncomment_https(text)
    assert "\n  # enable strong ssl ciphers (default: false)\n" in out
    assert "\n  strong_ssl_ciphers: false\n" in out
    https = YAML(typ="safe").load(out)["https"]
    assert https == {
        "port": 443,
        "certificate": "/your/certificate/path",
        "private_key": "/your/private/key/path",
        "strong_ssl_ciphers": False,
    }


def test_quoted_data_volume_warns_and_is_written_plain(put, ctx, bundle, plan_of) -> None:
    put("/opt/harbor/harbor.yml", INLINE["quoted-data-volume"])
    put("/opt/harbor/prepare", "#!/bin/sh\n", 0o755)
    plan = plan_of(HarborTarget(), bundle, ctx())
    assert any("quotes data_volume" in w for w in plan.warnings), plan.warnings
    (yml,) = [w for w in plan.writes if str(w.path) == "/opt/harbor/harbor.yml"]
    assert b"\ndata_volume: /srv/hb\n" in yml.content


@pytest.mark.parametrize(
    ("certificate", "fragment"),
    [
        ("/etc/missing.crt", "https.certificate /etc/missing.crt does not exist"),
        ("relative/x.crt", "is not an absolute host path"),
        ("/etc/abs-link.crt", "is an absolute symbolic link"),
    ],
)
def test_internal_tls_refuses_https_files_prepare_cannot_copy(
    put, ctx, root, certificate, fragment
) -> None:
    from tlsprov.install.internaltls import plan_internal_tls

    put("/etc/real.crt", "x")
    put("/etc/k.key", "x")
    (root / "etc/abs-link.crt").symlink_to("/etc/real.crt")
    put(
        "/opt/harbor/harbor.yml",
        f"hostname: a.test\nhttps:\n  port: 443\n  certificate: {certificate}\n"
        "  private_key: /etc/k.key\n",
    )
    with pytest.raises(InputError, match=fragment):
        plan_internal_tls(
            {"harbor_internal_ca.crt": b"x"},
            ctx(),
            tls_dir=PurePosixPath("/etc/harbor/tls/internal"),
            data_volume=PurePosixPath("/data"),
            trivy=False,
            ca_changed=True,
        )
