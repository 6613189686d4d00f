"""Analytic checks of money-metric welfare and the break-even misuse premium (MODEL.md 7)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq

from sim.mechanisms.harm import HarmComponents, HarmParameters, harm_components, harm_usd
from sim.mechanisms.welfare import (
    break_even_misuse_premium,
    compensating_variation,
    consumer_surplus_usd,
    inclusive_value,
    marginal_utility_of_money,
    net_welfare_effect,
    net_welfare_usd,
    producer_surplus,
    summarise_break_even,
)


def _cell(x) -> np.ndarray:
    """One world, region, segment and access group: [1, 1, 1, 1, K]."""
    return np.asarray(x, float).reshape(1, 1, 1, 1, -1)


def _logit_shares(v: np.ndarray) -> np.ndarray:
    weights = np.exp(v)
    return weights / (1.0 + weights.sum())


# --- (a) compensating variation against closed forms -------------------------------------------


def test_cv_of_a_price_rise_matches_the_log_sum_closed_form_and_the_demand_integral():
    alpha, quality, spend = 1.5, 2.0, 3.0  # e = 1: spend per adopter 3 USD/month at any price
    p0, p1 = 1.0, 2.0
    lam = marginal_utility_of_money(alpha, spend)

    def utility(p):
        return quality - alpha * math.log(p)

    cv = compensating_variation(
        inclusive_value(_cell([utility(p1)])), inclusive_value(_cell([utility(p0)])), lam,
        np.ones((1, 1, 1, 1)),
    )
    closed_form = math.log((1 + math.exp(utility(p1))) / (1 + math.exp(utility(p0)))) / lam
    assert cv.shape == (1, 1, 1)
    assert cv[0, 0, 0] == pytest.approx(closed_form, rel=0.01)

    # Roy's identity: with e = 1 and lambda = alpha / spend, -dCV/dp = s(p) tau(p), tau = spend/p
    def demand(p):
        share = math.exp(utility(p)) / (1 + math.exp(utility(p)))
        return share * spend / p

    integral, _ = quad(demand, p0, p1)
    assert cv[0, 0, 0] < 0.0
    assert cv[0, 0, 0] == pytest.approx(-integral, rel=0.01)


def test_cv_of_two_price_changes_matches_the_line_integral_of_logit_demand():
    alpha, spend = 1.2, 2.0
    quality = np.array([2.0, 1.0])
    p0, p1 = np.array([1.0, 0.5]), np.array([2.0, 0.4])  # one price rises, one falls
    lam = marginal_utility_of_money(alpha, spend)

    def utility(p):
        return quality - alpha * np.log(p)

    aware = np.full((1, 1, 1, 1), 1e6)
    cv = compensating_variation(
        inclusive_value(_cell(utility(p1))), inclusive_value(_cell(utility(p0))), lam, aware
    )[0, 0, 0]
    closed_form = 1e6 * math.log(
        (1 + np.exp(utility(p1)).sum()) / (1 + np.exp(utility(p0)).sum())
    ) / lam
    assert cv == pytest.approx(closed_form, rel=0.01)

    def flow(t):
        p = p0 + t * (p1 - p0)
        return float((_logit_shares(utility(p)) * spend / p * (p1 - p0)).sum())

    integral, _ = quad(flow, 0.0, 1.0)
    assert cv == pytest.approx(-1e6 * integral, rel=0.01)


def test_with_elastic_usage_the_log_sum_is_exact_to_first_order_at_the_reference_only():
    alpha, quality, elasticity, base_usage, p_ref = 1.0, 1.0, 1.5, 2.0, 1.0
    lam = marginal_utility_of_money(alpha, p_ref * base_usage)  # spend at the reference price

    def cv(p_new):
        return compensating_variation(
            inclusive_value(_cell([quality - alpha * math.log(p_new)])),
            inclusive_value(_cell([quality - alpha * math.log(p_ref)])), lam, np.ones((1, 1, 1, 1)),
        )[0, 0, 0]

    def roy(p_new):  # -int s(p) tau(p) dp with tau = base_usage (p / p_ref)^(-e)
        def demand(p):
            v = quality - alpha * math.log(p)
            return math.exp(v) / (1 + math.exp(v)) * base_usage * (p / p_ref) ** -elasticity

        return -quad(demand, p_ref, p_new)[0]

    assert cv(1.0001) == pytest.approx(roy(1.0001), rel=1e-3)
    # far from the reference the condition (spend independent of price) fails: a tenfold price
    # fall is worth more with elastic usage than the log-sum credits
    assert cv(0.1) > 0.0
    assert cv(0.1) < 0.8 * roy(0.1)


# --- levels, consistency with the CV, finiteness ----------------------------------------------


def test_level_is_minus_log_outside_share_per_aware_adopter():
    v = np.array([0.5, -1.0, 2.0])
    lam = 0.25
    aware = np.array([[[[300.0]]]])
    cs = consumer_surplus_usd(inclusive_value(_cell(v)), aware, lam)
    outside_share = 1.0 / (1.0 + np.exp(v).sum())
    assert cs[0, 0, 0] == pytest.approx(-300.0 * math.log(outside_share) / lam, rel=1e-12)


def test_cv_equals_the_difference_of_levels_with_the_same_lambda():
    rng = np.random.default_rng(3)
    shape = (4, 2, 3, 2, 5)  # W, R, S, G, K
    lam = rng.uniform(0.1, 2.0, size=(1, 1, 3))
    v0_base, v0_policy = rng.normal(size=shape[:4]), rng.normal(size=shape[:4])
    iv_base = inclusive_value(rng.normal(size=shape), outside_utility=v0_base)
    iv_policy = inclusive_value(rng.normal(size=shape), outside_utility=v0_policy)
    aware_base, aware_policy = rng.uniform(0, 1e6, shape[:4]), rng.uniform(0, 1e6, shape[:4])
    cv = compensating_variation(
        iv_policy, iv_base, lam, aware_base, aware_adopters_policy=aware_policy,
        outside_utility_base=v0_base, outside_utility_policy=v0_policy,
    )
    levels = consumer_surplus_usd(iv_policy, aware_policy, lam, v0_policy) - consumer_surplus_usd(
        iv_base, aware_base, lam, v0_base
    )
    np.testing.assert_allclose(cv, levels, rtol=1e-12, atol=1e-6)


def test_inclusive_value_is_stable_and_leaves_out_unavailable_products():
    utility = np.array([[1000.0, 999.0, -5.0], [np.nan, 0.0, 0.0]])
    available = np.array([[True, True, False], [False, True, True]])
    iv = inclusive_value(utility, available)
    assert iv[0] == pytest.approx(1000.0 + math.log1p(math.exp(-1.0)))
    assert iv[1] == pytest.approx(math.log(3.0))
    none = inclusive_value(np.zeros((2, 3)), np.zeros((2, 3), bool), outside_utility=0.7)
    np.testing.assert_allclose(none, 0.7)


def test_zero_reference_spend_gives_nan_lambda_without_warnings():
    with np.errstate(all="raise"):
        lam = marginal_utility_of_money(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    assert np.isnan(lam[0]) and lam[1] == 0.5


@settings(max_examples=200, deadline=None)
@given(
    quality=st.lists(st.floats(-5, 5), min_size=1, max_size=5),
    alpha=st.floats(0.1, 3.0),
    log_price=st.floats(-5, 5),
    which=st.integers(0, 4),
    factor=st.floats(0.01, 0.99),
)
def test_cs_is_finite_and_rises_when_any_price_falls(quality, alpha, log_price, which, factor):
    quality = np.array(quality)
    which %= quality.size
    prices = np.exp(log_price + np.linspace(0.0, 1.0, quality.size))
    cut = prices.copy()
    cut[which] *= factor
    lam, aware = alpha / 10.0, np.ones((1, 1, 1, 1))

    def cs(p):
        return consumer_surplus_usd(inclusive_value(_cell(quality - alpha * np.log(p))), aware, lam)

    before, after = cs(prices)[0, 0, 0], cs(cut)[0, 0, 0]
    assert np.isfinite(before) and np.isfinite(after) and before >= 0.0
    share = _logit_shares(quality - alpha * np.log(prices))[which]
    if share * alpha * -math.log(factor) > 1e-9:  # the rise is above float resolution
        assert after > before
    else:
        assert after >= before


# --- producer surplus and net welfare ----------------------------------------------------------


def test_producer_surplus_by_region_earned_and_by_home_region():
    profit = np.array([[[1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [0.0, 0.0, 0.0]]])  # [W=1, F=3, R=3]
    home = np.array([[2, 0, -1]])  # the third slot is unused
    earned, by_home = producer_surplus(profit, home, 3)
    np.testing.assert_array_equal(earned, [[11.0, 22.0, 33.0]])
    np.testing.assert_array_equal(by_home, [[60.0, 0.0, 6.0]])
    with pytest.raises(ValueError, match="home region"):
        producer_surplus(profit, np.array([[2, 7, 0]]), 3)  # firm 1 earns, home 7


def test_net_welfare_identity_holds_exactly_and_sums_to_the_worlds_surplus():
    rng = np.random.default_rng(8)
    cs = rng.uniform(0, 1e9, (3, 4))
    profit = rng.normal(1e8, 5e7, (3, 5, 4))
    home = rng.integers(0, 4, (3, 5))
    harm = rng.uniform(0, 1e8, (3, 4))
    earned, by_home = producer_surplus(profit, home, 4)
    net = net_welfare_usd(cs, by_home, harm)
    np.testing.assert_array_equal(net, cs + by_home - harm)
    np.testing.assert_allclose(net.sum(axis=1), cs.sum(1) + earned.sum(1) - harm.sum(1), rtol=1e-12)
    np.testing.assert_allclose(by_home.sum(axis=1), profit.sum(axis=(1, 2)), rtol=1e-12)


# --- break-even misuse premium ----------------------------------------------------------------


def _ban_pair(n_worlds: int = 40, seed: int = 5):
    """A ban on open weights in region 0: part of its open usage moves to closed products."""
    rng = np.random.default_rng(seed)
    capability = np.tile([110.0, 112.0, 108.0], (n_worlds, 1))
    is_open = np.tile([True, False, True], (n_worlds, 1))
    params = HarmParameters(leakage=rng.uniform(0, 1, n_worlds), hazard_scale=0.01)
    usage = rng.uniform(1e5, 1e6, (n_worlds, 3, 3))
    banned = usage.copy()
    moved = 0.6 * banned[:, 0, [0, 2]]
    banned[:, 0, [0, 2]] -= moved
    banned[:, 0, 1] += 0.5 * moved.sum(axis=1)  # half the displaced usage goes to closed
    exposure = np.array([0.5, 0.3, 0.2])
    base = harm_components(usage, capability, is_open, exposure, params)
    policy = harm_components(banned, capability, is_open, exposure, params)
    delta_cs = np.zeros((n_worlds, 3))
    delta_cs[:, 0] = -rng.uniform(0, 2e4, n_worlds)  # consumers lose choice in region 0
    delta_ps = rng.normal(0, 2e3, (n_worlds, 3))
    return delta_cs, delta_ps, base, policy


def test_setting_m_to_m_star_makes_the_effect_zero_and_flips_its_sign_around_it():
    delta_cs, delta_ps, base, policy = _ban_pair()
    m_star, reason = break_even_misuse_premium(
        delta_cs, delta_ps, base, policy, verify_with_root_finder=True
    )
    found = ~np.isnan(m_star)
    assert found[:, 0].sum() > 10  # the fixture has break-evens to check
    assert np.all(reason[found] == "")
    at_root = net_welfare_effect(delta_cs, delta_ps, base, policy, np.where(found, m_star, 0.0))
    np.testing.assert_allclose(at_root[found], 0.0, atol=1e-9)
    below = net_welfare_effect(delta_cs, delta_ps, base, policy, np.where(found, m_star - 1e-3, 0))
    above = net_welfare_effect(delta_cs, delta_ps, base, policy, np.where(found, m_star + 1e-3, 0))
    assert np.all(np.sign(below[found]) == -np.sign(above[found]))


def test_m_star_agrees_with_an_independent_root_finder_on_the_full_effect():
    delta_cs, delta_ps, base, policy = _ban_pair(n_worlds=8, seed=9)
    m_star, _ = break_even_misuse_premium(delta_cs, delta_ps, base, policy)
    for w, r in zip(*np.nonzero(~np.isnan(m_star)), strict=True):
        def effect(m, w=w, r=r):
            return net_welfare_effect(delta_cs, delta_ps, base, policy, m)[w, r]

        assert brentq(effect, 0.0, 100.0, xtol=1e-12) == pytest.approx(m_star[w, r], abs=1e-8)


def test_effect_is_monotone_in_m_in_the_direction_the_harm_components_say():
    delta_cs, delta_ps, base, policy = _ban_pair()
    open_change = policy.open_before_premium - base.open_before_premium
    grid = np.linspace(0.0, 100.0, 11)
    effects = np.stack([net_welfare_effect(delta_cs, delta_ps, base, policy, m) for m in grid])
    steps = np.diff(effects, axis=0)
    assert np.all(np.sign(steps) == -np.sign(open_change))
    assert np.all(open_change[:, 0] < 0.0)  # the ban cuts open harm in the banning region ...
    assert np.all(steps[:, :, 0] > 0.0)  # ... so its effect there grows with m


def _components(closed, open_local, open_leaked=0.0) -> HarmComponents:
    closed = np.atleast_2d(np.asarray(closed, float))
    return HarmComponents(
        closed=closed,
        open_local=np.broadcast_to(np.asarray(open_local, float), closed.shape),
        open_leaked=np.broadcast_to(np.asarray(open_leaked, float), closed.shape),
    )


def test_no_break_even_gives_nan_and_the_reason():
    # regions: raises everywhere, lowers everywhere (root at m ~ 1e6), unchanged, NaN input
    delta_cs = np.array([[100.0, -1e6, 0.0, np.nan]])
    delta_ps = np.zeros((1, 4))
    base = _components([0.0, 0.0, 5.0, 0.0], [10.0, 10.0, 3.0, 10.0])
    policy = _components([2.0, 0.0, 5.0, 0.0], [4.0, 9.0, 3.0, 4.0])
    m_star, reason = break_even_misuse_premium(delta_cs, delta_ps, base, policy)
    assert np.all(np.isnan(m_star))
    assert reason[0, 0] == "no break-even in [0, 100]: the policy raises net welfare at every m"
    assert reason[0, 1] == "no break-even in [0, 100]: the policy lowers net welfare at every m"
    assert reason[0, 2] == "no break-even: the policy leaves net welfare unchanged at every m"
    assert "NaN" in reason[0, 3]
    effects = net_welfare_effect(delta_cs, delta_ps, base, policy, np.array([[0.0], [100.0]]))
    assert np.all(effects[:, 0] > 0) and np.all(effects[:, 1] < 0)


def test_break_even_closed_form_on_a_hand_example():
    # a = dCS + dPS - d(closed) = -50 - 10 = -60; b = d(open) = -20 -> m* = (a - b) / b = 2
    m_star, reason = break_even_misuse_premium(
        np.array([[-50.0]]), np.zeros((1, 1)), _components([0.0], [30.0]),
        _components([10.0], [10.0]),
    )
    assert m_star[0, 0] == pytest.approx(2.0) and reason[0, 0] == ""
    narrow, why = break_even_misuse_premium(
        np.array([[-50.0]]), np.zeros((1, 1)), _components([0.0], [30.0]),
        _components([10.0], [10.0]), m_range=(0.0, 1.5),
    )
    assert np.isnan(narrow[0, 0]) and why[0, 0].endswith("lowers net welfare at every m")


def test_break_even_summary_over_worlds_with_weights():
    m_star = np.array([[1.0], [2.0], [3.0], [np.nan], [np.nan]])
    reason = np.array([[""], [""], [""], ["raises"], ["lowers"]])
    plain = summarise_break_even(m_star, reason)
    assert plain.median[0] == 2.0 and plain.low[0] == 1.0 and plain.high[0] == 3.0
    assert plain.share_with_break_even[0] == pytest.approx(0.6)
    assert plain.share_by_reason["raises"][0] == pytest.approx(0.2)
    weighted = summarise_break_even(m_star, reason, weights=np.array([1, 1, 10, 1, 1.0]))
    assert weighted.median[0] == 3.0 and weighted.low[0] == 1.0
    assert weighted.share_with_break_even[0] == pytest.approx(12 / 14)
    none = summarise_break_even(np.full((2, 1), np.nan), np.array([["lowers"], ["lowers"]]))
    assert np.isnan(none.median[0]) and none.share_by_reason["lowers"][0] == 1.0


def test_harm_usd_and_effect_agree_on_the_harm_difference():
    delta_cs, delta_ps, base, policy = _ban_pair(n_worlds=3)
    m = np.array([0.0, 5.0, 50.0])
    effect = net_welfare_effect(delta_cs, delta_ps, base, policy, m)
    expected = delta_cs + delta_ps - (harm_usd(policy, m) - harm_usd(base, m))
    np.testing.assert_array_equal(effect, expected)


def test_a_nan_profit_reaches_only_its_home_region():
    profit = np.array([[[1.0, np.nan], [2.0, 3.0]]])  # [W=1, F=2, R=2]
    _, by_home = producer_surplus(profit, np.array([[1, 0]]), 2)
    assert by_home[0, 0] == 5.0 and np.isnan(by_home[0, 1])


def test_batched_and_single_worlds_are_bit_identical():
    rng = np.random.default_rng(21)
    n_worlds = 6
    utility = rng.normal(size=(n_worlds, 2, 3, 2, 7))
    aware = rng.uniform(0, 1e6, (n_worlds, 2, 3, 2))
    lam = rng.uniform(0.1, 1.0, (n_worlds, 1, 3))
    profit, home = rng.normal(size=(n_worlds, 9, 2)), rng.integers(0, 2, (n_worlds, 9))
    usage = rng.uniform(0, 1e6, (n_worlds, 2, 7))
    capability = rng.uniform(90, 120, (n_worlds, 7))
    is_open = rng.uniform(size=(n_worlds, 7)) < 0.5
    params = HarmParameters(leakage=rng.uniform(0, 1, n_worlds))

    def compute(sl, world_params):
        cs = consumer_surplus_usd(inclusive_value(utility[sl]), aware[sl], lam[sl])
        parts = harm_components(usage[sl], capability[sl], is_open[sl], [0.4, 0.6], world_params)
        return cs, producer_surplus(profit[sl], home[sl], 2)[1], harm_usd(parts, 2.0)

    batched = compute(slice(None), params)
    for w in range(n_worlds):
        single = compute(slice(w, w + 1), HarmParameters(leakage=params.leakage[w : w + 1]))
        for whole, one in zip(batched, single, strict=True):
            np.testing.assert_array_equal(whole[w : w + 1], one)
