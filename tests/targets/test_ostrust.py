"""The os-trust target on each distribution family."""

from __future__ import annotations

import pytest

from tlsprov.errors import InputError
from tlsprov.install.targets.ostrust import OSTrustTarget

DEBIAN = ("/usr/local/share/ca-certificates/tlsprov-harbor.test.crt", ("update-ca-certificates",))
RHEL = ("/etc/pki/ca-trust/source/anchors/tlsprov-harbor.test.pem", ("update-ca-trust", "extract"))
ARCH_FILE = "/etc/ca-certificates/trust-source/anchors/tlsprov-harbor.test.crt"
ARCH = (ARCH_FILE, ("trust", "anchor", "--store", ARCH_FILE))
SUSE = ("/etc/pki/trust/anchors/tlsprov-harbor.test.pem", ("update-ca-certificates",))


@pytest.mark.parametrize(
    ("os_release", "expected"),
    [
        ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', DEBIAN),
        ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', DEBIAN),
        ('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n', DEBIAN),
        ('NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\n', RHEL),
        ("NAME=Fedora\nID=fedora\nVERSION_ID=40\n", RHEL),
        ('NAME="CentOS Stream"\nID="centos"\nID_LIKE="rhel fedora"\n', RHEL),
        ('NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n', RHEL),
        ('NAME="AlmaLinux"\nID="almalinux"\nID_LIKE="rhel centos fedora"\n', RHEL),
        ('NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n', ARCH),
        ('NAME="Manjaro Linux"\nID=manjaro\nID_LIKE=arch\n', ARCH),
        ('NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\n', SUSE),
        ('NAME="SLES"\nID="sles"\nID_LIKE="suse"\n', SUSE),
    ],
)
def test_family(ctx, bundle, plan_of, put, os_release, expected) -> None:
    put("/etc/os-release", "# comment line\n" + os_release)
    plan = plan_of(OSTrustTarget(), bundle, ctx())
    path, argv = expected
    assert [(str(w.path), w.content, w.mode, w.secret) for w in plan.writes] == [
        (path, bundle.ca_pem, 0o644, False)
    ]
    assert b"PRIVATE" not in plan.writes[0].content
    assert bundle.leaf_pem not in plan.writes[0].content
    assert [step.argv for step in plan.commands] == [argv]
    assert not plan.commands[0].always and plan.commands[0].reason
    assert any("restart" in note for note in plan.notes)
    assert plan.target == "os-trust"


def test_wildcard_host_file_name(ctx, bundle, plan_of, put) -> None:
    put("/etc/os-release", "ID=debian\n")
    plan = plan_of(OSTrustTarget(), bundle, ctx(host="*.harbor.test"))
    assert str(plan.writes[0].path).endswith("/tlsprov-_wildcard.harbor.test.crt")


def test_unknown_family_lists_supported(ctx, bundle, plan_of, put) -> None:
    put("/etc/os-release", 'NAME="Alpine Linux"\nID=alpine\n')
    with pytest.raises(InputError) as info:
        plan_of(OSTrustTarget(), bundle, ctx())
    message = info.value.message
    assert "alpine" in message
    for family in ("Debian/Ubuntu", "RHEL/Fedora/CentOS", "Arch", "SUSE"):
        assert family in message
    assert info.value.hint


def test_missing_os_release(ctx, bundle, plan_of) -> None:
    with pytest.raises(InputError, match=r"/etc/os-release does not exist.*Debian/Ubuntu"):
        plan_of(OSTrustTarget(), bundle, ctx())
