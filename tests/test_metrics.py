"""Metrics on known markets (MODEL.md 5 and 7.1): concentration, openness, welfare.

Expected values are computed by hand from the definitions in MODEL.md, never copied
from a run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.metrics import concentration_ratio, gap_in_months, hhi
from sim.model import MarketModel
from tests.model_helpers import hand_utilities, scenario, segment, vendor


def _row(frame, region: str = "R", segment_name: str = "s"):
    rows = frame[(frame["region"] == region) & (frame["segment"] == segment_name)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- HHI, CR, N_eff


def test_hhi_of_50_30_20_is_3800():
    assert hhi(np.array([50.0, 30.0, 20.0])) == pytest.approx(3800.0, abs=1e-9)
    # any scale: shares, counts or dollars
    assert hhi(np.array([5e8, 3e8, 2e8])) == pytest.approx(3800.0, abs=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 50])
def test_hhi_of_n_equal_firms_is_10000_over_n(n):
    assert hhi(np.full(n, 3.0)) == pytest.approx(10_000.0 / n, rel=1e-12)


def test_hhi_and_cr_over_leading_axes_and_empty_markets():
    values = np.array([[50.0, 30.0, 20.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(hhi(values)[:2], [3800.0, 2000.0])
    np.testing.assert_allclose(concentration_ratio(values, 1)[:2], [0.5, 0.2])
    np.testing.assert_allclose(concentration_ratio(values, 4)[:2], [1.0, 0.8])
    # an empty market is NaN, not zero (MODEL.md 5)
    assert math.isnan(hhi(values)[2])
    assert math.isnan(concentration_ratio(values, 4)[2])


def test_cr4_ignores_order_of_firms():
    values = np.array([10.0, 30.0, 15.0, 25.0, 20.0])
    assert concentration_ratio(values, 4) == pytest.approx(0.9)
    assert concentration_ratio(values, 1) == pytest.approx(0.3)


def test_model_concentration_metrics_on_a_known_market():
    """50/30/20 initial shares: the model's month-0 metrics are those of the known market."""
    sc = scenario(vendors=[vendor("A"), vendor("B", capability=98),
                           vendor("O", "open", capability=95)],
                  shares={"A": 0.5, "B": 0.3, "O": 0.2}, adopters=1000, adoption=0.5)
    model = MarketModel(sc, seed=1)
    row = _row(model.metrics())
    assert row["hhi"] == pytest.approx(3800.0)
    assert row["cr1"] == pytest.approx(0.5)
    assert row["cr4"] == pytest.approx(1.0)
    assert row["effective_firms"] == pytest.approx(10_000.0 / 3800.0)
    assert row["open_share"] == pytest.approx(0.2)
    assert row["adoption"] == pytest.approx(0.5)
    assert row["adopters"] == 500
    # one segment: usage is proportional to adopters, so usage HHI equals adopter HHI
    assert row["hhi_usage"] == pytest.approx(3800.0)
    # revenue = adopters * usage * hosted * price, by hand
    vt = model.vendors
    hosted = np.array([1.0, 1.0, sc.vendors[2].hosted_fraction])
    revenue = np.array([250.0, 150.0, 100.0]) * 100.0 * hosted * vt.view("price")
    shares = revenue / revenue.sum()
    assert row["hhi_revenue"] == pytest.approx(10_000 * np.sum(shares**2))
    assert row["open_revenue_share"] == pytest.approx(shares[2])
    assert row["spend"] == pytest.approx(revenue.sum())
    assert row["price_mean"] == pytest.approx((np.array([250, 150, 100]) * vt.view("price")).sum()
                                              / 500)


def test_five_equal_vendors_give_2000_and_cr4_of_0_8():
    names = list("ABCDE")
    sc = scenario(vendors=[vendor(n, capability=100 - i) for i, n in enumerate(names)],
                  shares={n: 0.2 for n in names}, adopters=10_000, adoption=0.3)
    row = _row(MarketModel(sc, seed=0).metrics())
    assert row["hhi"] == pytest.approx(2000.0)
    assert row["effective_firms"] == pytest.approx(5.0)
    assert row["cr4"] == pytest.approx(0.8)
    assert row["open_share"] == 0.0


def test_empty_market_metrics_are_nan():
    """A region where nobody adopts: share-based metrics NaN, adoption 0 (MODEL.md 5)."""
    regions = [
        {"name": "R", "adopters": {"s": 1000}, "initial_adoption": {"s": 0.5},
         "initial_shares": {"A": 0.6, "O": 0.4}},
        {"name": "Q", "adopters": {"s": 1000}, "initial_adoption": {"s": 0.0},
         "initial_shares": {"A": 0.6, "O": 0.4}},
    ]
    sc = scenario(vendors=[vendor("A"), vendor("O", "open", capability=95)], shares={},
                  regions=regions)
    model = MarketModel(sc, seed=0)
    row = _row(model.metrics(), "Q")
    for name in ("hhi", "hhi_usage", "cr1", "cr4", "effective_firms", "open_share",
                 "price_mean"):
        assert math.isnan(row[name]), name
    assert row["adoption"] == 0.0
    assert row["adopters"] == 0.0
    assert np.isfinite(row["consumer_welfare"])  # the outside option is always there
    world = _row(model.metrics(), "World", "all")
    assert world["hhi"] == pytest.approx(10_000 * (0.6**2 + 0.4**2))


def test_gap_in_months_counts_months_since_the_closed_frontier_reached_it():
    history = np.array([100.0, 101.0, 102.0, 103.0, np.nan])
    # today is month 3; the closed frontier reached 101.5 at month 2
    assert gap_in_months(np.array([101.5]), history, 3, 1.0)[0] == 1.0
    # below the month-0 frontier: extrapolated back at points_per_month
    assert gap_in_months(np.array([98.0]), history, 3, 0.5)[0] == pytest.approx(3 + 2 / 0.5)
    # ahead of the closed frontier: a negative gap (a lead)
    assert gap_in_months(np.array([104.0]), history, 3, 0.5)[0] == pytest.approx(-2.0)
    assert math.isnan(gap_in_months(np.array([np.nan]), history, 3, 1.0)[0])


# --------------------------------------------------------------------------- welfare


def test_consumer_welfare_closed_form_without_switching_costs():
    """With c = 0 the inversion makes U_k - U0 = ln(pi_k / pi_0), so the inclusive value is
    ``U0 - ln(1 - adoption)`` and welfare ``(U0 - ln(1 - adoption)) / alpha``."""
    alpha, beta, adoption = 1.7, 0.8, 0.35
    sc = scenario(vendors=[vendor("A", capability=100), vendor("B", capability=97),
                           vendor("O", "open", capability=92)],
                  shares={"A": 0.45, "B": 0.35, "O": 0.2}, adopters=1_000_000,
                  adoption=adoption,
                  segments=[segment(capability_weight=beta, price_elasticity=alpha)])
    model = MarketModel(sc, seed=0)
    u0 = beta * 100.0  # outside option: the closed frontier, lag 0
    expected = (u0 - math.log(1 - adoption)) / alpha
    assert _row(model.metrics())["consumer_welfare"] == pytest.approx(expected, rel=1e-10)


def test_consumer_welfare_by_hand_with_switching_cost_and_network_term():
    """``ln(e^U0 + sum_k e^U_k) / alpha`` written out from MODEL.md 4.1, after some months.

    Welfare is that of the choice set adopters faced this month: the network term uses the
    installed base they chose against (last month's counts).
    """
    alpha = 2.2
    sc = scenario(vendors=[vendor("A", capability=100, price=0.9), vendor("B", capability=98),
                           vendor("O", "open", capability=95)],
                  shares={"A": 0.5, "B": 0.3, "O": 0.2}, adopters=200_000, adoption=0.4,
                  segments=[segment(price_elasticity=alpha, switching_cost=0.7,
                                    open_preference=0.4, home_bias=0.3)],
                  world={"network_effect": 0.3, "price_adjustment": 0.4})
    model = MarketModel(sc, seed=3)
    for _ in range(2):
        model.step()
    before = model.counts.copy()
    model.step()
    u0, u = hand_utilities(model, counts=before)
    inclusive = math.log(math.exp(u0) + np.exp(u).sum())
    assert _row(model.metrics())["consumer_welfare"] == pytest.approx(inclusive / alpha,
                                                                      rel=1e-12)


def test_welfare_aggregates_weight_cells_by_potential_adopters():
    segs = [segment("a", price_elasticity=1.5), segment("b", price_elasticity=3.0,
                                                        capability_weight=0.3)]
    regions = [
        {"name": "R", "adopters": {"a": 1000, "b": 3000}, "initial_adoption": {"a": 0.4, "b": 0.2},
         "initial_shares": {"A": 0.7, "O": 0.3}},
        {"name": "Q", "adopters": {"a": 2000, "b": 500}, "initial_adoption": {"a": 0.5, "b": 0.6},
         "initial_shares": {"A": 0.4, "O": 0.6}},
    ]
    sc = scenario(vendors=[vendor("A"), vendor("O", "open", capability=96)], shares={},
                  segments=segs, regions=regions)
    frame = MarketModel(sc, seed=0).metrics()
    cw = {(r, s): _row(frame, r, s)["consumer_welfare"] for r in "RQ" for s in "ab"}
    pot = {("R", "a"): 1000, ("R", "b"): 3000, ("Q", "a"): 2000, ("Q", "b"): 500}
    for r in "RQ":
        want = sum(cw[r, s] * pot[r, s] for s in "ab") / sum(pot[r, s] for s in "ab")
        assert _row(frame, r, "all")["consumer_welfare"] == pytest.approx(want)
    want = sum(cw[k] * pot[k] for k in pot) / sum(pot.values())
    assert _row(frame, "World", "all")["consumer_welfare"] == pytest.approx(want)
    # World HHI pools both regions' adopters
    adopters = np.array([0.4 * 1000 * 0.7 + 0.2 * 3000 * 0.7 + 0.5 * 2000 * 0.4 + 0.6 * 500 * 0.4,
                         0.4 * 1000 * 0.3 + 0.2 * 3000 * 0.3 + 0.5 * 2000 * 0.6 + 0.6 * 500 * 0.6])
    assert _row(frame, "World", "all")["hhi"] == pytest.approx(
        10_000 * np.sum((adopters / adopters.sum()) ** 2), rel=1e-3)
