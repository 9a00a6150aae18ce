"""Harbor's own hostname checks, made before anything is written (prepare makes them after)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tlsprov_e2e_support as S  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("hostname", ["reg.mydomain.com", "127.0.0.1"])
def test_hostname_prepare_refuses_changes_nothing(
    sandbox: Any, tmp_path: Path, hostname: str
) -> None:
    box = sandbox("debian")
    config = tmp_path / "tlsprov.toml"
    config.write_text(
        f'[harbor]\nhostname = "{hostname}"\n[provider]\nname = "selfsigned"\n'
        f'[provider.selfsigned]\nca_dir = "{tmp_path / "ca"}"\nkey_type = "ec256"\n'
        f'[install]\nroot = "{box.root}"\ntargets = ["harbor", "docker"]\n',
        encoding="utf-8",
    )
    before = box.snapshot()
    result = box.tlsprov("provision", "--config", str(config), "--no-verify")
    assert result.returncode == 2, S.describe(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and f"Harbor refuses '{hostname}'" in lines[0], result.stderr
    assert box.snapshot() == before
    assert not (tmp_path / "ca").exists() and box.records() == []
