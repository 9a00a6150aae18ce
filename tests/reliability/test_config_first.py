"""A config error changes nothing: not even the lock file or the state folder appear.

Checked with a real ``provision`` in a sandbox: a ``{file = ...}`` passphrase that does not
exist, an unset ``{env = ...}`` one and a day count that would overflow must be reported before
the lock is taken.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S

from tlsprov.testing import tree_snapshot

CASES = {
    "passphrase-file-missing": ('ca_passphrase = {file = "/nonexistent/tlsprov-pass"}', "file"),
    "passphrase-env-unset": ('ca_passphrase = {env = "TLSPROV_TEST_NEVER_SET"}', "TLSPROV_TEST"),
    "days-overflow": ("days = 3000000", "36525"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_config_error_creates_no_lock(case: str, sandbox: Any) -> None:
    box = sandbox()
    option, expected = CASES[case]
    config = box.base / "tlsprov.toml"
    config.write_text(
        '[harbor]\nhostname = "harbor.test"\nhttps_port = 8443\ninstall_dir = "/opt/harbor"\n'
        '[provider]\nname = "selfsigned"\n'
        f'[provider.selfsigned]\nca_dir = "/etc/tlsprov/ca"\nkey_type = "ec256"\n{option}\n'
        f'[install]\nroot = "{box.root}"\ntargets = ["harbor", "docker"]\nverify = false\n',
        encoding="utf-8",
    )
    before = tree_snapshot(box.base)
    result = box.tlsprov("provision", "--config", str(config))
    assert result.returncode == 2, S.describe(result)
    lines = result.stderr.strip().splitlines()
    key = "days" if case == "days-overflow" else "ca_passphrase"
    assert len(lines) == 1 and key in lines[0] and expected in lines[0], lines
    assert not Path(box.root, S.STATE_DIR).exists(), sorted(Path(box.root, "var").rglob("*"))
    assert tree_snapshot(box.base) == before
