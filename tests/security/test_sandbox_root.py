"""With an install root set, every path tlsprov writes is under it: the CA named by an
absolute ``[provider.selfsigned] ca_dir``, the state folder, backups and the lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tlsprov_e2e_support as S


def _config(box: Any, ca_dir: Path | str) -> Path:
    text = f"""
[harbor]
hostname = "harbor.test"
https_port = 8443
install_dir = "/opt/harbor"

[provider]
name = "selfsigned"

[provider.selfsigned]
ca_dir = "{ca_dir}"
key_type = "ec256"

[install]
root = "{box.root}"
targets = ["harbor", "docker"]
verify = false
"""
    path = box.base / "tlsprov.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_absolute_ca_dir_lands_under_the_root(make_sandbox: Any, tmp_path: Path) -> None:
    box = make_sandbox()
    outside = tmp_path / "host" / "etc" / "tlsprov" / "ca"  # what the host's /etc would be
    result = box.tlsprov("provision", "--config", str(_config(box, outside)))
    assert result.returncode == 0, S.describe(result)
    assert not (tmp_path / "host").exists(), "the CA was written outside the root"
    inside = box.root.joinpath(*outside.parts[1:])
    assert (inside / "ca.crt").is_file() and (inside / "ca.key").is_file()
    served = (box.root / "data" / "ca_download" / "ca.crt").read_bytes()
    assert served == (inside / "ca.crt").read_bytes()
    assert (box.root / S.STATE_DIR / "live").is_dir()


def test_a_relative_ca_dir_with_a_root_is_refused(make_sandbox: Any, tree: Any) -> None:
    box = make_sandbox()
    config = _config(box, "ca")
    before = tree(box.base)
    result = box.tlsprov("provision", "--config", str(config))
    assert result.returncode == 2, S.describe(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "absolute path" in lines[0] and "ca_dir" in lines[0], lines
    assert tree(box.base) == before
