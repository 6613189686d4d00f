"""Pricing (MODEL.md 4.3 and 7.4): closed vendors converge to the logit Bertrand-Nash prices.

The equilibrium is solved independently with scipy from the scenario's data: with no
switching cost, the month-0 brand inversion gives ``V_k - U0 = ln(pi_k / pi_0) + alpha ln p_k0``
for the non-price utility ``V_k``, and each closed vendor maximises ``(p_k - c_k) s_k(p)``
over its own price given the others' (best-response iteration with ``minimize_scalar``).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from sim import pricing
from sim.model import MarketModel
from tests.model_helpers import scenario, segment, vendor

ALPHA, BETA = 2.0, 0.5
COST0, MARGIN = 0.2, 0.1
CAPABILITY = {"A": 100.0, "B": 97.0, "C": 93.0, "O": 95.0}
COST_FACTOR = {"A": 1.0, "B": 1.5, "C": 0.8, "O": 1.0}
SHARES = {"A": 0.4, "B": 0.3, "C": 0.2, "O": 0.1}
ADOPTION = 0.6
P0 = 1.0  # every closed vendor starts at this price (given in the scenario)
CLOSED = ["A", "B", "C"]


def _static_market(months: int = 80, phi: float = 0.5):
    vendors = [vendor(k, "open" if k == "O" else "closed", CAPABILITY[k],
                      cost_factor=COST_FACTOR[k], **({} if k == "O" else {"price": P0}))
               for k in CAPABILITY]
    return scenario(vendors=vendors, shares=SHARES, adoption=ADOPTION, adopters=1e9,
                    segments=[segment(capability_weight=BETA, price_elasticity=ALPHA,
                                      reconsider_rate=1.0)],
                    months=months,
                    world={"price_adjustment": phi, "open_margin": MARGIN, "serving_cost": COST0})


def _bertrand_nash() -> dict[str, float]:
    """Logit Bertrand-Nash prices with an outside option, solved from the scenario's data.

    Utilities are taken relative to the outside option ``U0 = beta * q_frontier`` (lag 0),
    so only the month-0 shares and prices are needed."""
    cost = {k: COST0 * COST_FACTOR[k] for k in CAPABILITY}
    price0 = {k: (cost[k] * (1 + MARGIN) if k == "O" else P0) for k in CAPABILITY}
    # month-0 inversion with c = 0: U_k - U0 = ln(pi_k / pi_0) at month-0 prices
    v = {k: np.log(SHARES[k] * ADOPTION / (1 - ADOPTION)) + ALPHA * np.log(price0[k])
         for k in CAPABILITY}  # non-price utility relative to U0

    def share(k: str, prices: dict[str, float]) -> float:
        e = {j: np.exp(v[j] - ALPHA * np.log(prices[j])) for j in CAPABILITY}
        return e[k] / (1.0 + sum(e.values()))

    prices = dict(price0)
    for _ in range(2000):
        before = dict(prices)
        for k in CLOSED:
            res = optimize.minimize_scalar(
                lambda x, k=k: -(x - cost[k]) * share(k, {**prices, k: x}),
                bounds=(cost[k], 100 * cost[k]), method="bounded",
                options={"xatol": 1e-13})
            prices[k] = float(res.x)
        if max(abs(prices[k] - before[k]) for k in CLOSED) < 1e-12:
            break
    # sanity: the solution satisfies each firm's first-order condition numerically
    for k in CLOSED:
        def profit(x, k=k):
            return (x - cost[k]) * share(k, {**prices, k: x})
        h = 1e-6 * prices[k]
        assert abs(profit(prices[k] + h) - profit(prices[k] - h)) / (2 * h) < 1e-6
    return prices


def test_closed_prices_converge_to_bertrand_nash():
    nash = _bertrand_nash()
    model = MarketModel(_static_market(), seed=1)
    model.run()
    names = model.vendors.names
    price = dict(zip(names, model.vendors.view("price"), strict=True))
    for k in CLOSED:
        assert price[k] == pytest.approx(nash[k], rel=0.01), (k, price[k], nash[k])
        assert abs(price[k] - P0) > 0.1  # it moved: the test is not satisfied at month 0
    # open vendors price hosted usage at cost plus the margin
    assert price["O"] == pytest.approx(COST0 * COST_FACTOR["O"] * (1 + MARGIN), rel=1e-12)
    assert not model.vendors.view("capped").any()


def test_prices_settle_and_partial_adjustment_is_geometric_in_logs():
    """``p_t = p_{t-1}^(1-phi) target^phi``: with the target fixed, the log-distance shrinks
    by (1 - phi) a month."""
    price = np.array([4.0, 0.5])
    target = np.array([1.0, 2.0])
    for phi in (0.0, 0.3, 1.0):
        got = pricing.adjust_prices(price, target, phi)
        np.testing.assert_allclose(np.log(got / target), (1 - phi) * np.log(price / target),
                                   atol=1e-14)


def test_markup_rule_is_the_first_order_condition_of_logit_profit():
    """``p / c = A / (A - 1)`` with ``A = alpha (1 - s)`` maximises ``(p - c) s(p)`` when the
    share responds as ``ds/dp = -alpha s (1 - s) / p`` (single product, one cell)."""
    alpha, cost, v = 2.4, 0.3, 1.2  # s(p) = e^(v - alpha ln p) / (1 + e^(v - alpha ln p))

    def share(p):
        e = np.exp(v - alpha * np.log(p))
        return e / (1 + e)

    best = optimize.minimize_scalar(lambda p: -(p - cost) * share(p), bounds=(cost, 50 * cost),
                                    method="bounded", options={"xatol": 1e-12}).x
    s = share(best)
    target, capped = pricing.best_response(np.array([cost]), np.array([alpha * (1 - s)]), 1000.0)
    assert target[0] == pytest.approx(best, rel=1e-6)
    assert not capped[0]
    # the cap binds and is reported when A <= 1 (no interior optimum)
    target, capped = pricing.best_response(np.array([cost]), np.array([0.9]), 20.0)
    assert capped[0] and target[0] == pytest.approx(20 * cost)


def test_markup_elasticity_is_usage_weighted():
    counts = np.array([[[100.0, 0.0]], [[300.0, 50.0]]])  # [region, segment, vendor]
    potential = np.array([[1000.0], [500.0]])
    usage = np.array([2.0])
    alpha = np.array([2.0])
    reach = np.ones_like(counts)
    got = pricing.markup_elasticity(counts, potential, usage, alpha, reach)
    # vendor 0: shares 0.1 and 0.6, usage weights 200 and 600
    assert got[0] == pytest.approx((200 * 2 * 0.9 + 600 * 2 * 0.4) / 800)
    assert got[1] == pytest.approx(2 * (1 - 0.1))
