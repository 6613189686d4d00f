"""Paired worlds are the same worlds until a policy acts (common random numbers, MODEL.md 9).

A comparison's paired effect is only the policy's if world i of each scenario runs the same
arithmetic and draws the same numbers until the policy starts. A partially enforced ban
splits a cell's adopters into access groups from month 0, so every scenario of a run is
compiled with the groups of all of them (sim.engine.compile.shared_cuts); before that the
demo's EU enterprise HHI differed by tens of points per world in 2025, two years before the
EU ban of 2027-01 (month 36).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.engine.compile import access_groups, ban_cuts, shared_cuts

BAN_MONTH = 36  # eu_blocks_open: the EU bans open weights from 2027-01


def _paired(market: pd.DataFrame, a: str, b: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["replication", "month", "region", "segment"]
    cols = [c for c in market.columns if market[c].dtype.kind == "f"]
    one = market[market["scenario"] == a].set_index(key)[cols].sort_index()
    two = market[market["scenario"] == b].set_index(key)[cols].sort_index()
    return one, two


def _months_differing(market: pd.DataFrame) -> np.ndarray:
    one, two = _paired(market, "baseline", "eu_blocks_open")
    same = (one.to_numpy() == two.to_numpy()) | (np.isnan(one.to_numpy())
                                                  & np.isnan(two.to_numpy()))
    months = one.index.get_level_values("month").to_numpy()
    return np.unique(months[~same.all(axis=1)])


@pytest.mark.parametrize("engine", ["expected", "exact"])
def test_paired_worlds_are_identical_until_the_ban(engine: str) -> None:
    res = sim.run(["baseline", "eu_blocks_open"], replications=2, seed=3, months=BAN_MONTH + 2,
                  engine=engine, jobs=1, progress=False)
    differing = _months_differing(res.market)
    assert differing.size and differing.min() == BAN_MONTH  # bit for bit before, not after


def test_paired_worlds_over_the_posterior_are_identical_until_the_ban() -> None:
    res = sim.run(["baseline", "eu_blocks_open"], posterior="baseline", draws=2,
                  replications=1, seed=4, months=BAN_MONTH + 1, engine="expected", jobs=1,
                  progress=False)
    assert _months_differing(res.market).min() == BAN_MONTH
    summary = res.summary(month=BAN_MONTH - 1, metrics=["hhi_market"])
    effect = summary[(summary["scenario"] == "eu_blocks_open") & (summary["segment"] != "all")]
    assert len(effect) >= 12  # every region's three relevant markets (no HHI for "all")
    assert (effect["diff_p05"] == 0).all() and (effect["diff_p95"] == 0).all()


def test_a_run_records_the_shared_access_groups(tmp_path) -> None:
    from sim.scenario.loader import load_scenario

    res = sim.run(["baseline", "eu_blocks_open"], replications=1, seed=1, months=2, jobs=1,
                  out=tmp_path / "run", progress=False)
    import json

    manifest = json.loads((res.folder / "manifest.json").read_text())
    ban = load_scenario("eu_blocks_open")
    assert [tuple(c) for c in manifest["access_groups"]] == list(
        shared_cuts([load_scenario("baseline"), ban]))
    assert set(ban_cuts(ban)) <= {tuple(c) for c in manifest["access_groups"]}


def test_shared_cuts_give_every_scenario_the_same_groups() -> None:
    from sim.scenario.loader import load_scenario

    base, ban = load_scenario("baseline"), load_scenario("eu_blocks_open")
    cuts = shared_cuts([base, ban])
    assert ban_cuts(ban) and set(ban_cuts(ban)) <= set(cuts)
    f_base, e_base = access_groups(base, cuts)
    f_ban, e_ban = access_groups(ban, cuts)
    assert np.array_equal(f_base, f_ban) and np.array_equal(e_base, e_ban)
    assert np.allclose(f_base.sum(axis=-1), 1.0)  # groups split each cell, nothing lost
    alone, _ = access_groups(base)  # alone, a scenario keeps only its own groups
    assert alone.shape[-1] <= f_base.shape[-1]
