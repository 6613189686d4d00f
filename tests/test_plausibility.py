"""Fit-window plausibility of the shipped baseline, and the checks' own arithmetic (issue 14).

The tolerances and their sources are in docs/validation.md ("Plausibility"). A check the
provisional calibration does not yet meet is a strict ``xfail`` listed in ``KNOWN_MISSES``
with the reason docs/validation.md gives: it fails the suite the day the model meets it,
so that the marker is removed rather than forgotten.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from sim.engine import choice, market
from sim.engine.compile import compile_scenario
from sim.engine.engine import Engine
from sim.experiment import plausibility as pl
from sim.mechanisms import pricing
from sim.replication import run_replications
from sim.scenario.loader import load_scenario, shipped_scenarios
from sim.scenario.overrides import apply_overrides

#: Checks the provisional point calibration misses, with docs/validation.md's reason.
KNOWN_MISSES: dict[str, str] = {}


def _quiet_run(scenario, replications, months=None) -> dict[str, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_replications(scenario, seed=1, replications=replications,
                                engine="expected", months=months)


@pytest.fixture(scope="module")
def baseline_tables() -> dict[str, pd.DataFrame]:
    return _quiet_run("baseline", range(2))


def _marks(name: str) -> list:
    if name in KNOWN_MISSES:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[name])]
    return []


@pytest.mark.parametrize("check", [pytest.param(c, id=c.name, marks=_marks(c.name))
                                   for c in pl.CHECKS])
def test_baseline_plausibility(check: pl.Check, baseline_tables) -> None:
    measured, passed = check.measure(baseline_tables)
    assert passed, f"{check.what}: measured {measured}, expected {check.tolerance}"


# ------------------------------------------------------------------ the checks' arithmetic

def _market(values: dict[str, list[float]], region: str = "World",
            segment: str = "all") -> pd.DataFrame:
    months = len(next(iter(values.values())))
    frame = pd.DataFrame({"month": range(months), "region": region, "segment": segment})
    for name, column in values.items():
        frame[name] = column
    return frame


def test_annual_fall_of_a_geometric_path() -> None:
    path = pd.Series(10.0 * 3.0 ** (-np.arange(18) / 12.0))
    assert pl._annual_fall(path, 0, 17) == pytest.approx(3.0)


def test_price_fall_check_passes_and_fails_on_its_bounds() -> None:
    slow = _market({"price_frontier": list(10.0 * 1.2 ** (-np.arange(18) / 12.0))})
    fast = _market({"price_frontier": list(10.0 * 2.0 ** (-np.arange(18) / 12.0))})
    check = pl._fall_check("price_frontier", 1.5, 4.0)
    assert not check({"market": slow})[1]
    assert check({"market": fast})[1]


def test_yearly_spend_check_sees_a_fall() -> None:
    growing = list(np.linspace(1.0, 10.0, 48))
    falling = growing[:36] + [1.0] * 12
    ok = {"market": _market({"spend": growing}, segment="enterprise")}
    bad = {"market": _market({"spend": falling}, segment="enterprise")}
    assert pl._spend_grows_yearly(ok)[1]
    assert not pl._spend_grows_yearly(bad)[1]


def test_open_share_band_uses_2024_to_2026_only() -> None:
    inside = [0.2] * 36 + [0.9] * 12  # leaves the band only in 2027: not this check's years
    outside = [0.2] * 30 + [0.4] * 18
    assert pl._open_share_band({"market": _market({"open_usage_share": inside}, "US",
                                                  "enterprise")})[1]
    assert not pl._open_share_band({"market": _market({"open_usage_share": outside}, "US",
                                                      "enterprise")})[1]


def test_chatgpt_check_ignores_china() -> None:
    rows = []
    for month in range(12, 24):
        rows += [{"month": month, "segment": "consumer", "region": "US", "vendor": "OpenAI",
                  "users": 60.0},
                 {"month": month, "segment": "consumer", "region": "US", "vendor": "Google",
                  "users": 40.0},
                 {"month": month, "segment": "consumer", "region": "CN", "vendor": "Baidu",
                  "users": 500.0}]
    assert pl._chatgpt_leads({"products": pd.DataFrame(rows)})[1]
    rows[1]["users"] = 80.0  # Google leads in one month of 2025
    assert not pl._chatgpt_leads({"products": pd.DataFrame(rows)})[1]


# ------------------------------------------------------------------ pricing in every scenario

@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_pricing_is_interior_in_every_month_of_shipped_scenarios(name: str) -> None:
    """MODEL.md 5 and 10.5: every firm's total elasticity exceeds 1 at the prices charged,
    in every month of every shipped scenario, so ``markup_max`` never binds (point values)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = compile_scenario(load_scenario(name))
    engine = Engine(params, 1, np.array([0]), "expected")
    lowest = np.inf
    while engine.month < engine.horizon:
        engine.step()
        s = engine.state
        utility, outside = choice.utilities(params, s, engine.month, np.ones(s.brand.shape))
        demand = market.token_market(params, s, engine.month, utility, outside,
                                     engine.rules.available.any(axis=(2, 3)))
        priced = s.product_alive & ~s.is_open
        price = np.where(np.isfinite(s.price) & (s.price > 0), s.price, 1.0)
        total = pricing.total_elasticity(demand, price, s.owner, priced,
                                         n_firms=s.firm_alive.shape[1],
                                         scope=params.structure.price_scope)
        lowest = min(lowest, float(np.nanmin(total)))
    assert np.isfinite(lowest) and lowest > 1.0, lowest
    tables = engine.recorder.frames(engine.state, [name], np.array([0]))
    market_table, events = tables["market"], tables["events"]
    capped = market_table.loc[market_table["markup_capped"] > 0, "month"]
    # The one corner the cap may meet with elastic demand: a firm that has just absorbed a
    # rival owns two substitutes and prices the weaker out (a killer acquisition); the
    # safeguard then binds on that line. Nowhere else.
    absorbed = events.loc[events["kind"].isin(["acquisition", "merger"]), "month"]
    first = absorbed.min() if len(absorbed) else np.inf
    assert (capped >= first).all(), sorted(set(capped))


def test_regional_price_scope_isolates_the_us_from_an_eu_ban() -> None:
    """Issue 14: with regional list prices an EU-only ban moves US enterprise hhi_revenue by
    less than 50 points at 2027-06 (8 paired replications); docs/validation.md reports the
    2028-12 figure and the global-scope effect as a structural uncertainty."""
    regional = {"world.price_scope": "regional"}
    base = apply_overrides(load_scenario("baseline"), regional, quiet=True)
    ban = apply_overrides(load_scenario("eu_blocks_open"), regional, quiet=True)
    month = 41  # 2027-06
    effects = []
    for scenario in (base, ban):
        market = _quiet_run(scenario, range(8), months=month)["market"]
        cell = market[(market["region"] == "US") & (market["segment"] == "enterprise")
                      & (market["month"] == month)]
        effects.append(cell.sort_values("replication")["hhi_revenue"].to_numpy())
    paired = effects[1] - effects[0]
    assert abs(float(np.mean(paired))) < 50.0, paired
