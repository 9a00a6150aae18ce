"""Kill or fail ``renew --force`` (issue, save the lineage, install) at every step, then run
``provision``: it ends with one consistent set, the live lineage's key and certificate are a
pair, the installed files are the live version, and a further run changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import tlsprov_e2e_support as S
from tlsprov_reliability_configs import provision_config

from tlsprov.pki.x509 import key_matches_cert, load_certs, load_private_key


def _kind(label: str) -> str:
    return re.sub(r"/backups/[^/]+/", "/backups/*/", label)


def _consistent(box: Any) -> None:
    live = box.root / S.STATE_DIR / "live" / S.HOST
    key = load_private_key((live / f"{S.HOST}.key").read_bytes(), source="live key")
    leaf = load_certs((live / f"{S.HOST}.crt").read_bytes(), source="live crt")[0]
    assert key_matches_cert(key, leaf)
    installed = box.root / "data" / "cert"
    for name in (f"{S.HOST}.key", f"{S.HOST}.crt"):
        assert (installed / name).read_bytes() == (live / name).read_bytes(), name


@pytest.mark.parametrize("kind", ["kill", "raise"])
def test_fault_at_every_step_of_a_renewal_then_provision(
    kind: str, sandbox: Any, recording_prepare: Any, cli: Callable[..., Any]
) -> None:
    box = sandbox()
    recording_prepare(box)
    work = box.base / "runs"
    config = str(provision_config(box))
    first = cli(["provision", "--config", config], box.env, work)
    assert first.code == 0, first.describe()
    renew = ["renew", "--force", "--config", config]
    probe = cli(renew, box.env, work, {"n": 0, "kind": kind})
    assert probe.code == 0, probe.describe()
    steps = [_kind(e["step"]) for e in probe.events]
    assert any("/live/" in s for s in steps), steps  # the lineage save is among them
    for n in range(1, len(steps) + 1):
        faulted = cli(renew, box.env, work, {"n": n, "kind": kind})
        assert faulted.hit is not None, faulted.describe()
        where = faulted.hit["step"]
        assert "Traceback" not in faulted.stderr, faulted.describe()
        if kind == "kill":
            assert faulted.signal == 9, faulted.describe()
        elif faulted.code != 0:
            lines = [x for x in faulted.stderr.splitlines() if x.startswith("tlsprov: error:")]
            assert len(lines) == 1 and "internal error" not in lines[0], faulted.describe()
        again = cli(["provision", "--config", config], box.env, work)
        assert again.code == 0, f"{kind} at {where}\n{again.describe()}"
        _consistent(box)
        before = box.snapshot(state=False)
        third = cli(["provision", "--config", config], box.env, work)
        assert third.code == 0 and "nothing to do" in third.stdout, third.describe()
        assert box.snapshot(state=False) == before, f"{kind} at {where}"
