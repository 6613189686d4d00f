"""The benchmark harness's pipeline at small scale (``make bench`` runs it in full).

No timing is asserted (times are the harness's output, not a test's): only that each
measure runs, returns the keys BENCHMARKS.md and docs/performance.md quote, and that the
table is rewritten between its markers and nowhere else.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_target_of_the_issue_has_a_measure(harness) -> None:
    for key in ("ensemble_1000_s", "exact_1000_s", "world_month_us_256", "batch_gain",
                "parallel_speedup", "ensemble_peak_rss_mb", "ensemble_rss_ratio_10000_1000"):
        assert key in harness.TARGETS


@pytest.mark.slow
def test_the_world_month_and_ensemble_measures_run_small(harness) -> None:
    found = {**harness.bench_world_month(True), **harness.bench_ensemble(True)}
    assert set(found) == {"world_month_us_64", "batch_gain", "ensemble_100_s", "exact_100_s"}
    assert all(math.isfinite(v) and v > 0 for v in found.values())


def test_the_table_is_rewritten_between_its_markers(harness, tmp_path, monkeypatch) -> None:
    table = tmp_path / "BENCHMARKS.md"
    table.write_text(f"# Benchmarks\n\nprose stays\n\n{harness.BEGIN}\nold\n{harness.END}\n"
                     "after stays\n")
    monkeypatch.setattr(harness, "TABLE", table)
    harness.write_table({"batch_gain": 12.0, "world_month_us_256": 80.0}, {"cpus": "2"})
    text = table.read_text()
    assert "prose stays" in text and "after stays" in text and "old" not in text
    assert "| `batch_gain` | 12 | >= 10 | yes |" in text
    assert "| `world_month_us_256` | 80 | <= 50 | no |" in text
