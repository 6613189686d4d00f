"""Randomness (MODEL.md 6): same seed, same results anywhere; streams keyed by
(seed, mechanism, month, region), so one region's ban leaves another region's draws alone."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import sim
from sim.model import MarketModel
from sim.rng import Mechanism, Streams, seed_sequence
from sim.scenario.loader import validate_data
from sim.scenario.months import step_of

ROOT = Path(__file__).resolve().parents[1]
MONTHS = 12


def _digest(tables: dict[str, pd.DataFrame]) -> str:
    """A hash of the three tables' full CSV text (values, dtypes' text form, order)."""
    h = hashlib.sha256()
    for name in ("market", "vendors", "events"):
        buffer = io.StringIO()
        tables[name].to_csv(buffer, index=False, float_format="%.17g")
        h.update(name.encode())
        h.update(buffer.getvalue().encode())
    return h.hexdigest()


def _run(name: str = "baseline", seed: int = 5, replication: int = 0):
    return sim.run_replication(name, seed=seed, replication=replication, months=MONTHS)


def test_same_seed_gives_identical_tables():
    a, b = _run(), _run()
    for name in ("market", "vendors", "events"):
        pdt.assert_frame_equal(a[name], b[name], check_exact=True)


def test_same_seed_gives_identical_tables_in_a_fresh_process():
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import sim
        from tests.test_determinism import _digest
        tables = sim.run_replication("baseline", seed=5, replication=0, months={MONTHS})
        print(_digest(tables))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300, env={**os.environ, "PYTHONHASHSEED": "123"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _digest(_run())


def test_different_seeds_and_replications_differ():
    base = _run()["market"]
    for other in (_run(seed=6)["market"], _run(replication=1)["market"]):
        assert not base["hhi"].equals(other["hhi"])
        # the month-0 market is data, the same for every seed (contributors are drawn)
        columns = ["region", "segment", "hhi", "cr4", "adoption", "open_share", "price_mean",
                   "consumer_welfare"]
        pdt.assert_frame_equal(base.loc[base.month == 0, columns].reset_index(drop=True),
                               other.loc[other.month == 0, columns].reset_index(drop=True))


def test_streams_depend_only_on_seed_mechanism_month_and_region():
    def draws(streams: Streams, *key) -> np.ndarray:
        return streams.generator(*key).integers(0, 2**62, size=4)

    a = Streams(seed_sequence(9, 2))
    b = Streams(seed_sequence(9, 2))
    key = (Mechanism.DEMAND, 7, 1)
    np.testing.assert_array_equal(draws(a, *key), draws(b, *key))
    # drawing other streams first (in any order) does not move this one
    for other in [(Mechanism.DEMAND, 7, 0), (Mechanism.ENTRY, 7), (Mechanism.DEMAND, 6, 1)]:
        draws(a, *other)
    np.testing.assert_array_equal(draws(a, *key), draws(b, *key))
    different = [(Mechanism.DEMAND, 7, 2), (Mechanism.DEMAND, 8, 1), (Mechanism.CONTRIBUTORS, 7, 1)]
    for other in different:
        assert not np.array_equal(draws(a, *key), draws(a, *other))
    assert not np.array_equal(draws(Streams(seed_sequence(9, 3)), *key), draws(a, *key))
    assert not np.array_equal(draws(Streams(seed_sequence(10, 2)), *key), draws(a, *key))


def test_mesa_rng_comes_from_the_replication_seed():
    a = MarketModel("baseline", seed=seed_sequence(3, 1))
    b = MarketModel("baseline", seed=seed_sequence(3, 1))
    c = MarketModel("baseline", seed=seed_sequence(3, 2))
    x, y, z = (m.rng.integers(0, 2**62, size=3) for m in (a, b, c))
    np.testing.assert_array_equal(x, y)
    assert not np.array_equal(x, z)


def _with_eu_ban(start: int) -> sim.Scenario:
    data = sim.load_scenario("baseline").model_dump(mode="json", exclude_none=True)
    data["policies"].append({"kind": "ban_open_weights", "region": "EU", "start": start})
    return validate_data(data)


def test_a_ban_in_one_region_leaves_other_regions_draws_unchanged():
    """The EU bans open weights from month 1. The demand streams of every region are the same
    in both runs, and at month 1 (before any feedback through prices or capability can reach
    them) the other regions' counts are identical, while the EU's differ."""
    base = sim.load_scenario("baseline")
    banned = _with_eu_ban(1)
    a = MarketModel(base, seed=seed_sequence(21, 0))
    b = MarketModel(banned, seed=seed_sequence(21, 0))
    for month in (1, 2, 30):
        for r in range(len(base.regions)):
            np.testing.assert_array_equal(
                a.streams.generator(Mechanism.DEMAND, month, r).random(8),
                b.streams.generator(Mechanism.DEMAND, month, r).random(8))
    np.testing.assert_array_equal(a.counts, b.counts)
    a.step()
    b.step()
    eu = base.region_names.index("EU")
    for r, name in enumerate(base.region_names):
        if r == eu:
            assert not np.array_equal(a.counts[r], b.counts[r])
        else:
            np.testing.assert_array_equal(a.counts[r], b.counts[r], err_msg=name)


@pytest.mark.parametrize("ban_month", [step_of("2026-01", "2025-07")])
def test_shipped_ban_scenario_matches_baseline_before_the_ban(ban_month):
    """Common random numbers: eu_blocks_open and the baseline are identical before the ban."""
    a = sim.run_replication("baseline", seed=1, months=ban_month + 1)["market"]
    b = sim.run_replication("eu_blocks_open", seed=1, months=ban_month + 1)["market"]
    before = a.month < ban_month
    pdt.assert_frame_equal(a[before], b[b.month < ban_month])
    eu = (a.region == "EU") & (a.month == ban_month)
    assert not a.loc[eu, "open_share"].reset_index(drop=True).equals(
        b.loc[(b.region == "EU") & (b.month == ban_month), "open_share"].reset_index(drop=True))
