"""Smoke run of the six benchmarks in bench/ (tiny sizes), so they never rot.

The whole smoke run happens once per module (about 15 s): benchmark 1 with RSA-2048 keys and one
round, benchmark 2 with 20 ec256 and 2 rsa2048 certificates against trustme (one by one, with
files, in sets), benchmark 3 the tlsprov half against a real Pebble (certbot lives only in the
bench's own virtualenv), benchmark 4 the tlsprov half, benchmark 5 ``tlsprov status`` over 50
generated lineages, benchmark 6 one hitless and one prepare renewal under load.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography import x509

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def run_all() -> Iterator[ModuleType]:
    """bench/run_all.py, imported with bench/ on sys.path (the benchmarks import each other)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCH))
        import run_all as module

        yield module
    for name in ("run_all", "_common", "_pebble", *(p.stem for p in BENCH.glob("bench_*.py"))):
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def results(run_all: ModuleType, workdir: Path) -> dict[int, dict[str, Any]]:
    tools = run_all.find_tools()
    assert tools.has_trustme, "trustme belongs to the test extras; benchmark 2 compares with it"
    done = run_all.run_benchmarks(smoke=True, workdir=workdir, tools=tools)
    return {result["bench"]: result for result in done}


def _medians(result: dict[str, Any], key: str = "median_s") -> dict[str, float]:
    return {label: m[key] for label, m in result["measurements"].items()}


def test_all_six_ran_with_their_targets(results: dict[int, dict[str, Any]]) -> None:
    assert sorted(results) == [1, 2, 3, 4, 5, 6]
    for result in results.values():
        assert result["runs"] == 1
        assert result["targets"], result
        for row in result["targets"]:
            assert row["met"] in (True, False, None)
            assert row["target"]


def test_harbor_procedure_three_ways(results: dict[int, dict[str, Any]], workdir: Path) -> None:
    result = results[1]
    medians = _medians(result)
    assert len(medians) == 3
    assert all(value > 0 for value in medians.values())
    assert [row["met"] is None for row in result["targets"]] == [False, False]
    assert all(m["peak_rss_mib"] > 1 for m in result["measurements"].values())
    for crt in (
        workdir / "b1-openssl" / "harbor.test.crt",
        workdir / "b1-cli" / "out" / "harbor.test.crt",
        workdir / "b1-library" / "out" / "harbor.test.crt",
    ):
        cert = x509.load_pem_x509_certificate(crt.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["harbor.test", "harbor", "hostname"]
        assert cert.public_key().key_size == 2048  # type: ignore[union-attr]


def test_bulk_issuance_compares_with_trustme(results: dict[int, dict[str, Any]]) -> None:
    result = results[2]
    rates = _medians(result, "median_per_s")
    variants = ("trustme", "tlsprov", "tlsprov+files", "tlsprov sets")
    assert set(rates) == {f"{kt} {v}" for kt in ("ec256", "rsa2048") for v in variants}
    assert all(rate > 0 for rate in rates.values())
    assert [row["met"] is not None for row in result["targets"]] == [True, True]
    for row in result["targets"]:  # the sets (issue_all) figure rides beside the target
        judged = r"^\d+\.\d{3}× \(median of 1 rounds, every key at the run's mean cost; as timed"
        assert re.search(judged, row["measured"])
        assert re.search(r"in sets of 10 \(issue_all\), wall time: \d+\.\d\d× trustme", row["note"])
        assert re.search(r"key generation taken out: \d+\.\d\d× \(\d+ vs \d+ µs", row["note"])
        assert re.search(r"key generation \d+\.\d{3} vs \d+\.\d{3} ms per key", row["note"])


def _worker_result(own_us: float, keys_ms: list[float]) -> dict[str, Any]:
    """What a bench 2 worker reports for leaves of ``own_us`` plus keys costing ``keys_ms``."""
    keygen_s = sum(keys_ms) / 1e3
    return {
        "seconds": len(keys_ms) * own_us / 1e6 + keygen_s,
        "count": len(keys_ms),
        "keys": len(keys_ms),
        "keygen_s": keygen_s,
    }


def test_bulk_ratio_counts_every_key_at_the_mean_cost(run_all: ModuleType) -> None:
    compare = run_all.bench_2_bulk.compare
    # Same own work (300 µs a leaf); tlsprov drew slow keys in round 1, trustme in round 2.
    ours = [_worker_result(300, [60, 60]), _worker_result(300, [20, 20])]
    theirs = [_worker_result(300, [20, 20]), _worker_result(300, [60, 60])]
    found = compare(ours, theirs)
    assert found["ratio"] == pytest.approx(1.0)
    assert found["ratios"] == pytest.approx([1.0, 1.0])
    assert found["as_timed_ratios"] == pytest.approx([20.3 / 60.3, 60.3 / 20.3])
    assert found["key_ms"] == pytest.approx([40, 40])
    # Own work decides once the luck is evened out: 200 µs against 300 µs a leaf, keys 40 ms.
    found = compare([_worker_result(200, [40, 40])], [_worker_result(300, [40, 40])])
    assert found["ratio"] == pytest.approx(40.3 / 40.2)
    assert found["own"] == pytest.approx(1.5)
    assert found["own_us"] == pytest.approx([200, 300])


def test_bulk_ratio_refuses_runs_without_one_key_per_leaf(run_all: ModuleType) -> None:
    reused = {**_worker_result(300, [40, 40]), "keys": 1}
    with pytest.raises(RuntimeError, match="1 keys generated for 2 leaves"):
        run_all.bench_2_bulk.compare([reused], [_worker_result(300, [40, 40])])


def test_acme_runs_the_tlsprov_half(results: dict[int, dict[str, Any]], workdir: Path) -> None:
    result = results[3]
    assert list(result["measurements"]) == ["tlsprov issue --provider letsencrypt"]
    (target,) = result["targets"]
    assert target["met"] is None
    assert target["note"] == "not run in smoke mode"
    crt = (workdir / "b3-tlsprov" / "out" / "harbor.test.crt").read_bytes()
    leaf = x509.load_pem_x509_certificate(crt)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["harbor.test", "www.harbor.test"]


def test_startup_memory_target(results: dict[int, dict[str, Any]]) -> None:
    result = results[4]
    assert set(result["measurements"]) == {
        "tlsprov --help",
        "python -c 'import tlsprov'",
        "tlsprov status --json (1 certificate)",
    }
    memory = [row for row in result["targets"] if "peak memory" in row["what"]]
    assert [row["met"] for row in memory] == [True]
    ratios = [row for row in result["targets"] if "certbot" in row["what"]]
    assert [row["met"] for row in ratios] == [None, None, None]


def test_status_over_generated_lineages(results: dict[int, dict[str, Any]], workdir: Path) -> None:
    result = results[5]
    assert list(result["measurements"]) == ["50 certificates"]
    assert len(list((workdir / "b5-state-50" / "live").iterdir())) == 50


def test_readme_block_is_replaced_and_prose_kept(
    run_all: ModuleType, results: dict[int, dict[str, Any]], tmp_path: Path
) -> None:
    readme = tmp_path / "README.md"
    original = (BENCH / "README.md").read_text(encoding="utf-8")
    readme.write_text(original, encoding="utf-8")
    env = run_all.environment(run_all.find_tools())
    block = run_all.render(list(results.values()), env, "bench/run --smoke")
    run_all.update_readme(readme, block)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(original.split(run_all.START)[0])
    assert text.endswith(original.split(run_all.END)[1])
    for number in range(1, 6):
        assert f"\n### {number}. " in text
    assert "| 3 | tlsprov / certbot wall time | - (not run in smoke mode) |" in text

    bare = tmp_path / "bare.md"
    bare.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="lacks the result markers"):
        run_all.update_readme(bare, block)
    assert bare.read_text(encoding="utf-8") == "no markers\n"


def test_renewal_under_load_hitless_drops_nothing_prepare_drops(
    results: dict[int, dict[str, Any]],
) -> None:
    result = results[6]
    (hit,) = result["samples"]["hitless"]
    (prep,) = result["samples"]["prepare"]
    assert hit["failed"] == 0 and hit["requests"] > 100 and hit["new_within_1s"]
    assert prep["failed"] > 0
    assert [row["met"] for row in result["targets"]] == [True, True, True]


def test_bulk_pair_runs_together_at_its_first_members_place(run_all: ModuleType) -> None:
    groups = run_all.bench_2_bulk._groups
    order = ["tlsprov+files", "trustme", "tlsprov sets", "tlsprov"]
    assert groups(order, True) == [["tlsprov+files"], ["trustme", "tlsprov"], ["tlsprov sets"]]
    assert groups(order, False) == [[v] for v in order]
