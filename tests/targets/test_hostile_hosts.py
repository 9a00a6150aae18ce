"""Host names no target may turn into a folder or a Harbor hostname (issue 11)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from ruamel.yaml import YAML

from tlsprov.errors import InputError
from tlsprov.install.targets.containerd import ContainerdTarget
from tlsprov.install.targets.docker import DockerTarget
from tlsprov.install.targets.harbor import HarborTarget
from tlsprov.install.targets.podman import PodmanTarget


@pytest.mark.parametrize(
    ("host", "reason"),
    [("*.harbor.test", "wildcard"), ("::1", "loopback"), ("127.0.0.2", "loopback")],
)
def test_harbor_refuses_a_wildcard_or_loopback_hostname(
    harbor_install, ctx, bundle, plan_of, host, reason
) -> None:
    # issue 11 item 11: '*.harbor.test' and '::1' became Harbor's hostname
    harbor_install("tmpl")
    with pytest.raises(InputError) as err:
        plan_of(HarborTarget(), bundle, ctx(host=host))
    assert reason in err.value.one_line()
    assert host in err.value.one_line()


@pytest.mark.parametrize("target", [DockerTarget, ContainerdTarget, PodmanTarget])
def test_certs_d_refuses_a_wildcard_folder(target, ctx, bundle, plan_of) -> None:
    # issue 11 item 11: a certs.d/*.harbor.test/ folder appeared
    with pytest.raises(InputError) as err:
        plan_of(target(), bundle, ctx(host="*.harbor.test", client_only=True))
    line = err.value.one_line()
    assert "wildcard" in line and "exact" in line and "--host" in line


ALIASED = """\
hostname: reg.mydomain.com
tls_defaults: &tls
  port: 443
  certificate: /old/cert.crt
  private_key: /old/cert.key
http:
  port: 80
https: *tls
data_volume: /data
"""


def test_an_aliased_https_block_is_unshared(harbor_install, put, ctx, bundle, plan_of) -> None:
    # issue 11 item 12: editing 'https: *tls' changed the anchor's other user too
    harbor_install("tmpl")
    put("/opt/harbor/harbor.yml", ALIASED)
    plan = plan_of(HarborTarget(), bundle, ctx(port=8443))
    text = next(w for w in plan.writes if w.path.name == "harbor.yml").content.decode()
    data = YAML(typ="safe").load(text)
    assert data["tls_defaults"] == {
        "port": 443,
        "certificate": "/old/cert.crt",
        "private_key": "/old/cert.key",
    }
    assert data["https"] == {
        "port": 8443,
        "certificate": "/data/cert/harbor.test.crt",
        "private_key": "/data/cert/harbor.test.key",
    }
    assert "https: *tls" not in text


ANCHORED = """\
hostname: reg.mydomain.com
http:
  port: 80
https: &tls
  port: 443
  certificate: /old/cert.crt
  private_key: /old/cert.key
backup_tls: *tls
"""


def test_an_anchored_https_block_keeps_its_alias_user(
    harbor_install, put, ctx, bundle, plan_of
) -> None:
    # issue 11 item 12, the other direction: 'https: &tls' and 'backup_tls: *tls'
    harbor_install("tmpl")
    put("/opt/harbor/harbor.yml", ANCHORED)
    plan = plan_of(HarborTarget(), bundle, ctx(port=8443))
    out = next(w for w in plan.writes if w.path.name == "harbor.yml").content.decode()
    data = YAML(typ="safe").load(out)
    assert data["backup_tls"]["certificate"] == "/old/cert.crt"
    assert data["https"]["certificate"] == "/data/cert/harbor.test.crt"


@pytest.mark.parametrize("field", ["harbor_dir", "data_volume"])
def test_harbor_refuses_dotdot_folders(harbor_install, ctx, bundle, plan_of, field) -> None:
    # issue 11 item 21, for library callers that build the InstallContext themselves
    harbor_install("tmpl")
    value = PurePosixPath("/opt/../opt/harbor" if field == "harbor_dir" else "/data/../srv")
    with pytest.raises(InputError, match=r"has a '\.\.' part"):
        plan_of(HarborTarget(), bundle, ctx(**{field: value}))
