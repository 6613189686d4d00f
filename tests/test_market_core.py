"""The market core as a whole: initial state, conservation, availability, state checks.

MODEL.md 7.6 (conservation) and 7.7 (month 0 reproduces the data), the "every shipped
scenario runs" check, exact zeros for unavailable options and the NaN/inf guard.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import sim
from sim.agents.vendor import LEDGER_FLOWS
from sim.model import MarketModel, ModelStateError
from sim.scenario.loader import validate_data
from sim.scenario.months import step_of
from sim.scenario.schema import BanOpenWeights, BanVendors
from tests.model_helpers import scenario, segment, vendor

SHIPPED = sorted(sim.shipped_scenarios())


# --------------------------------------------------------------------------- month 0


def _month0_available(sc: sim.Scenario) -> dict[str, set[str]]:
    """Vendors each region's adopters can buy from at step 0, read off the scenario."""
    available = {r.name: {v.name for v in sc.vendors if v.regions is None or r.name in v.regions}
                 for r in sc.regions}
    for policy in sc.policies:
        if not isinstance(policy, BanOpenWeights | BanVendors):
            continue
        begin = step_of(policy.start, sc.scenario.start)
        end = None if policy.end is None else step_of(policy.end, sc.scenario.start)
        if begin > 0 or (end is not None and end <= 0):
            continue
        # a ban binding only some adopters still leaves the vendor without month-0 share:
        # shares are given for the most restricted access group (evaders reach more later)
        regions = [r.name for r in sc.regions] if policy.region == "*" else [policy.region]
        for v in sc.vendors:
            if isinstance(policy, BanOpenWeights):
                hit = v.openness == "open" and (policy.min_capability is None
                                                or v.capability >= policy.min_capability)
            else:
                hit = v.name in policy.vendors or v.home in policy.home_regions
                hit &= policy.openness in ("any", v.openness)
            if hit:
                for r in regions:
                    available[r].discard(v.name)
    return available


def _expected_vendor_shares(shares: dict[str, float], available: set[str],
                            names: list[str]) -> np.ndarray:
    """Listed shares; unlisted available vendors split the rest (at least the documented
    floor each, so their brand constant is finite); normalised to 1."""
    from sim.initial import SHARE_FLOOR

    out = np.array([shares.get(n, 0.0) if n in available else 0.0 for n in names])
    unlisted = [i for i, n in enumerate(names) if n in available and n not in shares]
    if unlisted:
        out[unlisted] = max(max(0.0, 1.0 - out.sum()) / len(unlisted), SHARE_FLOOR)
    return out / out.sum()


@pytest.mark.parametrize("name", SHIPPED)
def test_month_zero_reproduces_initial_shares_and_adoption(name):
    """MODEL.md 7.7: counts at month 0 are the scenario's data up to integer rounding."""
    sc = sim.load_scenario(name)
    model = MarketModel(sc, seed=0)
    names = sc.vendor_names
    available = _month0_available(sc)
    pooled = model.counts.sum(axis=2)  # [region, segment, option]
    n_groups = model.counts.shape[2]
    frame = model.metrics()
    for r, region in enumerate(sc.regions):
        for s, seg in enumerate(sc.segment_names):
            potential = round(region.adopters.get(seg, 0.0))
            adoption = region.initial_adoption.get(seg, 0.5)
            shares = region.segment_shares.get(seg, region.initial_shares)
            inside = _expected_vendor_shares(shares, available[region.name], names)
            expected = potential * adoption * inside
            got = pooled[r, s, 1:]
            assert np.abs(got - expected).max() <= n_groups, (region.name, seg)
            assert abs(pooled[r, s, 0] - potential * (1 - adoption)) <= n_groups
            row = frame[(frame.region == region.name) & (frame.segment == seg)].iloc[0]
            assert row["adoption"] == pytest.approx(adoption, abs=n_groups / potential)
            # vendors the region cannot reach have nobody
            for k, vendor_name in enumerate(names):
                if vendor_name not in available[region.name]:
                    assert got[k] == 0


def test_month_zero_is_a_steady_state():
    """The brand constants make the month-0 shares the chain's long-run shares, so with
    nothing changing the expected counts do not move (MODEL.md 4.1 'Initial state')."""
    segs = [segment("a", switching_cost=1.5, reconsider_rate=0.5),
            segment("b", switching_cost=0.2, open_preference=1.0, reconsider_rate=0.5)]
    sc = scenario(vendors=[vendor("A"), vendor("B", capability=99), vendor("O", "open",
                                                                            capability=94)],
                  shares={"A": 0.5, "B": 0.2, "O": 0.3}, adopters=1e9, adoption=0.45,
                  segments=segs, months=24, world={"network_effect": 0.3})
    model = MarketModel(sc, seed=0)
    start = model.counts.astype(float) / 1e9
    model.run()
    np.testing.assert_allclose(model.counts / 1e9, start, atol=2e-4)


def test_zero_initial_adoption_keeps_the_region_empty_without_warnings():
    """A region nobody uses at month 0 gets finite brand constants and stays (almost) empty."""
    regions = [
        {"name": "R", "adopters": {"s": 10_000}, "initial_adoption": {"s": 0.5},
         "initial_shares": {"A": 0.6, "O": 0.4}},
        {"name": "Q", "adopters": {"s": 10_000}, "initial_adoption": {"s": 0.0},
         "initial_shares": {"A": 0.6, "O": 0.4}},
    ]
    sc = scenario(vendors=[vendor("A"), vendor("O", "open", capability=95)], shares={},
                  regions=regions, months=24)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MarketModel(sc, seed=0)
        model.run()
    assert np.isfinite(model.brand).all()
    assert model.counts[1, 0, :, 1:].sum() <= 2


# --------------------------------------------------------------------------- conservation


def _rich_scenario() -> sim.Scenario:
    """The baseline with every cash flow at work: entry, adaptive openness, compliance,
    subsidies, a merger, interoperability and the EU open-weights ban."""
    data = sim.load_scenario("eu_blocks_open").model_dump(mode="json", exclude_none=True)
    data["scenario"].pop("extends", None)
    data["scenario"]["months"] = 36
    data["world"].update({"entry_rate": 1.0, "entry_cost": 1e3, "review_months": 6,
                          "openness_switch_cost": 1e6})
    for v in data["vendors"]:
        if v["name"] in ("Mistral", "Baidu"):
            v["strategy"] = "adaptive"
    data["policies"] += [
        {"kind": "compliance_cost", "region": "EU", "start": 2, "fixed": 3e7,
         "revenue_share": 0.02, "systemic_capability": 105, "systemic_fixed": 6e7},
        {"kind": "open_source_subsidy", "region": "US", "start": 3, "budget": 2e7,
         "recipients": "both"},
        {"kind": "merger", "acquirer": "Google", "target": "Anthropic", "start": 10},
        {"kind": "interoperability", "region": "US", "start": 5,
         "switching_cost_multiplier": 0.5},
    ]
    return validate_data(data)


def _check_counts(model: MarketModel) -> None:
    counts = model.counts
    assert counts.dtype.kind == "i"
    assert (counts >= 0).all()
    np.testing.assert_array_equal(counts.sum(axis=(2, 3)), model.potential)


@pytest.mark.parametrize("source", [*SHIPPED, "rich"])
def test_counts_are_conserved_and_cash_balances_to_the_cent(source):
    """MODEL.md 7.6: every month counts are non-negative integers summing to each cell's
    potential adopters; at the end every vendor's cash is its opening cash plus its ledger
    (entrants open with 0)."""
    sc = _rich_scenario() if source == "rich" else sim.load_scenario(source)
    model = MarketModel(sc, seed=4)
    opening = model.vendors.view("cash").copy()
    _check_counts(model)
    for _ in range(sc.scenario.months):
        model.step()
        _check_counts(model)
    vt = model.vendors
    cash0 = np.r_[opening, np.zeros(vt.count - len(opening))]
    ledger = vt.ledger[: vt.count]
    np.testing.assert_allclose(vt.view("cash"), cash0 + ledger.sum(axis=1), rtol=0, atol=0.01)
    if source == "rich":  # the scenario exercised the flows it was built for
        used = {flow for flow, total in zip(LEDGER_FLOWS, np.abs(ledger).sum(axis=0),
                                            strict=True) if total > 0}
        assert {"funding", "revenue", "indirect", "subsidy", "serving", "compliance", "rd",
                "merger_in", "merger_out"} <= used
        assert vt.count > len(opening)  # entrants arrived
        assert not vt.alive[vt.names.index("Anthropic")]


# --------------------------------------------------------------------------- shipped


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_runs_sixty_months(name):
    sc = sim.load_scenario(name).with_overrides({"scenario.months": 60})
    tables = sim.run_replication(sc, seed=2)
    market = tables["market"]
    assert market["month"].max() == 60
    world = market[(market.region == "World") & (market.segment == "all")]
    for column in ("hhi", "adoption", "consumer_welfare", "open_share", "frontier_closed",
                   "spend"):
        assert np.isfinite(world[column]).all(), column
    assert ((world["hhi"] > 0) & (world["hhi"] <= 10_000)).all()
    assert ((world["open_share"] >= 0) & (world["open_share"] <= 1)).all()


# --------------------------------------------------------------------------- availability


def test_unavailable_options_have_probability_exactly_zero_in_the_model():
    """Baseline: US closed vendors do not serve CN; EU ban of open weights from 2026-01."""
    from sim import demand

    sc = sim.load_scenario("eu_blocks_open")
    model = MarketModel(sc, seed=1)
    names = sc.vendor_names
    cn, eu = sc.region_names.index("CN"), sc.region_names.index("EU")
    us_closed = [names.index(v.name) for v in sc.vendors
                 if v.home == "US" and v.openness == "closed"]
    is_open = [names.index(v.name) for v in sc.vendors if v.openness == "open"]
    ban_month = step_of("2026-01", sc.scenario.start)
    for month in range(1, ban_month + 3):
        model.step()
        weights, _ = model._weights(month)
        probs = demand.choice_probabilities(weights, model._switching())
        for k in us_closed:
            assert (probs[cn, ..., k + 1] == 0.0).all()
            assert (model.counts[cn, ..., k + 1] == 0).all()
        if month >= ban_month:  # forced re-choice: nobody is left at a banned option
            for k in is_open:
                assert (probs[eu, ..., k + 1] == 0.0).all()
                assert (model.counts[eu, ..., k + 1] == 0).all()
        else:
            assert model.counts[eu, ..., [k + 1 for k in is_open]].sum() > 0
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------- state checks


def _small():
    return scenario(vendors=[vendor("A"), vendor("B", capability=98),
                             vendor("O", "open", capability=95)],
                    shares={"A": 0.5, "B": 0.3, "O": 0.2}, adopters=1000, adoption=0.5,
                    months=6, world={"price_adjustment": 0.3})


@pytest.mark.parametrize("quantity,vendor_name,value", [
    ("price", "A", math.nan), ("capability", "B", math.inf), ("cash", "O", -math.inf),
    ("capability", "O", math.nan)])
def test_nan_or_infinite_state_raises_naming_month_and_quantity(quantity, vendor_name, value):
    model = MarketModel(_small(), seed=1)
    model.step()
    k = model.vendors.names.index(vendor_name)
    getattr(model.vendors, quantity)[k] = value
    with pytest.raises(ModelStateError) as info:
        model.step()
    text = str(info.value)
    assert "month 2" in text and quantity in text and vendor_name in text


def test_nan_utilities_raise_naming_month_and_region():
    model = MarketModel(_small(), seed=1)
    model.brand[0, 0, 1] = math.nan
    with pytest.raises(ModelStateError, match=r"month 1 .*region R"):
        model.step()


@pytest.mark.parametrize("lag", [0.0, 0.5, 1.0, 3.0])
def test_outside_option_with_short_lags_stays_finite(lag):
    """Regression: a lag below 2 months read the frontier of a month not yet recorded (NaN)."""
    sc = _small().with_overrides({"world.outside_lag_months": lag, "world.rd_productivity": 0.5})
    model = MarketModel(sc, seed=0).run()
    assert np.isfinite(model.metrics()["consumer_welfare"]).all()
    frontier = model._closed_history
    # the outside option at month t tracks the frontier known when choices are made (t - 1)
    u0 = model._outside_utility(model.month)[0, 0]
    when = min(model.month - lag, model.month - 1)
    lo = int(np.floor(when))
    frac = when - lo
    q_ref = frontier[lo] * (1 - frac) + frontier[min(lo + 1, model.month - 1)] * frac
    assert u0 == pytest.approx(0.5 * q_ref)


def test_a_market_of_open_models_only_runs():
    """Regression: with no closed vendor the outside option tracked a NaN frontier."""
    sc = scenario(vendors=[vendor("A", "open"), vendor("O", "open", capability=95)],
                  shares={"A": 0.5, "O": 0.5}, adopters=1000, months=12,
                  world={"outside_lag_months": 12, "rd_productivity": 0.5})
    model = MarketModel(sc, seed=0).run()
    row = model.metrics().iloc[0]
    assert np.isfinite(row["consumer_welfare"])
    assert math.isnan(row["frontier_closed"]) and math.isnan(row["gap_months"])
