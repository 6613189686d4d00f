"""Multi-product Bertrand-Nash pricing with the intensive margin (sim.mechanisms.pricing).

The reference solution is independent of the solver: ``_profits`` below writes each firm's
profit from MODEL.md 4.2-4.3 directly (its own share and usage formulas, no code shared with
the module), and ``_scipy_nash`` finds the equilibrium by iterated joint best responses
(``scipy.optimize.minimize`` over each firm's own log prices), polished by
``scipy.optimize.root`` on first-order conditions taken by central finite differences of
``_profits``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import optimize

from sim.mechanisms.pricing import (
    TokenMarket,
    adjust_markups,
    own_elasticity,
    solve_prices,
    token_demand,
    total_elasticity,
)

pytestmark = pytest.mark.filterwarnings("error")  # no RuntimeWarnings anywhere


# ----------------------------------------------------------------------------- fixtures
def _random_market(rng, n_worlds, n_regions, lines_per_firm, *, n_segments=2, fixed_lines=1,
                   unavailable=0.15, cost_spread=0.2, outside=1.0, satiation=None):
    """Random token market: firms own 1-3 priced lines each, plus third-party-hosted lines."""
    owner_row = [f for f, n in enumerate(lines_per_firm) for _ in range(n)]
    n_firms = len(lines_per_firm)
    owner_row += list(rng.integers(0, n_firms, fixed_lines))
    n_lines = len(owner_row)
    w, r, s, k = n_worlds, n_regions, n_segments, n_lines
    available = rng.random((w, r, k)) > unavailable
    available[:, :, 0] = True  # at least one line sells everywhere
    base_cost = rng.uniform(0.5, 2.0, (w, n_firms))
    owner = np.tile(np.array(owner_row), (w, 1))
    cost = np.take_along_axis(base_cost, owner, axis=1) * np.exp(
        rng.uniform(-cost_spread, cost_spread, (w, k)))
    priced = np.ones((w, k), bool)
    priced[:, k - fixed_lines:] = False
    market = TokenMarket(
        market_size=rng.uniform(1.0, 20.0, (w, r, s)),
        utility=rng.normal(0.0, 0.7, (w, r, s, k)),
        outside_utility=np.full((w, r, s), outside) + rng.normal(0, 0.2, (w, r, s)),
        available=available,
        price_weight=rng.uniform(1.0, 3.0, (w, s)),
        usage_elasticity=rng.uniform(1.1, 2.0, (w, s)),
        base_usage=rng.uniform(0.5, 3.0, (w, s)),
        reference_price=rng.uniform(0.5, 2.0, (w, r, s)),
        satiation=None if satiation is None else rng.uniform(*satiation, (w, s)),
    )
    fixed = cost * 1.1  # open lines hosted by third parties at cost x (1 + margin)
    return market, cost, owner, priced, fixed


def _world(market, cost, owner, priced, fixed, w):
    """One world as plain arrays for the independent reference (no W axis)."""
    seg = lambda x: np.broadcast_to(np.asarray(x, float), (market.market_size.shape[0],  # noqa: E731
                                                           market.market_size.shape[2]))[w]
    return dict(M=market.market_size[w], V=market.utility[w], V0=market.outside_utility[w],
                avail=market.available[w], alpha=seg(market.price_weight),
                e=seg(market.usage_elasticity), tau=seg(market.base_usage),
                pref=np.broadcast_to(market.reference_price, market.market_size.shape)[w],
                cost=cost[w], owner=owner[w], priced=priced[w], fixed=fixed[w],
                S=None if market.satiation is None else seg(market.satiation))


def _profits(d, prices):
    """Profit of every firm at prices ``[R, K]`` (MODEL.md 4.2-4.3), written from scratch."""
    n_firms = d["owner"].max() + 1
    total = np.zeros(n_firms)
    for r in range(d["M"].shape[0]):
        for s in range(d["M"].shape[1]):
            p = prices[r]
            attraction = np.where(d["avail"][r], np.exp(d["V"][r, s]) * p ** (-d["alpha"][s]),
                                  0.0)
            share = attraction / (np.exp(d["V0"][r, s]) + attraction.sum())
            m = (p / d["pref"][r, s]) ** (-d["e"][s])
            if d["S"] is not None:  # satiated at S tau_s: m S / (S - 1 + m)
                m = m * d["S"][s] / (d["S"][s] - 1.0 + m)
            usage = d["tau"][s] * m
            earned = np.where(d["priced"], (p - d["cost"]) * d["M"][r, s] * share * usage, 0.0)
            total += np.bincount(d["owner"], weights=earned, minlength=n_firms)
    return total


def _scipy_nash(d, scope, markup_max=50.0, polish=True):
    """Nash prices ``[R, K]`` by iterated joint best responses, then a root polish."""
    n_regions, n_lines = d["avail"].shape
    firms = np.unique(d["owner"][d["priced"]])
    if scope == "global":  # one variable per priced line that sells somewhere
        cols = [np.flatnonzero(d["priced"] & (d["owner"] == f) & d["avail"].any(0))
                for f in firms]
        cols = [[(slice(None), k) for k in c] for c in cols]
    else:  # one variable per (region, priced line) where it sells
        cols = [[(r, k) for r in range(n_regions) for k in range(n_lines)
                 if d["priced"][k] and d["owner"][k] == f and d["avail"][r, k]] for f in firms]
    prices = np.tile(np.where(d["priced"], 1.5 * d["cost"], d["fixed"]), (n_regions, 1))

    def put(p, idx, x):
        p = p.copy()
        for (ix, xv) in zip(idx, x, strict=True):
            p[ix] = np.exp(xv)
        return p

    def logs(p, idx):
        return np.array([np.log(np.atleast_1d(p[ix])[0]) for ix in idx])

    for _ in range(300):
        before = prices.copy()
        for f, idx in zip(firms, cols, strict=True):
            bounds = [(np.log(d["cost"][ix[1]]), np.log(d["cost"][ix[1]] * markup_max))
                      for ix in idx]
            def loss(x, f=f, idx=idx, p=prices):
                return -_profits(d, put(p, idx, x))[f]

            res = optimize.minimize(loss, logs(prices, idx), method="L-BFGS-B", bounds=bounds,
                                    options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000})
            prices = put(prices, idx, res.x)
        if np.max(np.abs(np.log(prices / before))) < 1e-9:
            break
    if not polish:  # e.g. when a bound binds and the FOC does not hold there
        return prices
    flat = [(f, ix) for f, idx in zip(firms, cols, strict=True) for ix in idx]

    def foc(x, h=1e-5):
        p = put(prices, [ix for _, ix in flat], x)
        grad = np.empty(len(flat))
        for i, (f, _) in enumerate(flat):
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            grad[i] = (_profits(d, put(p, [ix for _, ix in flat], up))[f]
                       - _profits(d, put(p, [ix for _, ix in flat], down))[f]) / (2 * h)
        return grad

    sol = optimize.root(foc, logs(prices, [ix for _, ix in flat]), method="hybr", tol=1e-13)
    # hybr may stop at the finite-difference noise floor; what matters is that the FOCs vanish
    assert np.max(np.abs(foc(sol.x))) < 1e-8, sol.message
    return put(prices, [ix for _, ix in flat], sol.x)


def _single_cell(alpha, e, v, v0=0.0, tau=1.0, pref=1.0, m=1.0, n_lines=1):
    shape1 = lambda x: np.asarray(x, float).reshape(1, 1, 1, -1)  # noqa: E731
    return TokenMarket(market_size=np.full((1, 1, 1), m), utility=shape1(v),
                       outside_utility=np.full((1, 1, 1), v0),
                       available=np.ones((1, 1, n_lines), bool), price_weight=[alpha],
                       usage_elasticity=[e], base_usage=[tau], reference_price=pref)


# ----------------------------------------------------------------------------- (a)
@pytest.mark.parametrize("scope", ["global", "regional"])
@pytest.mark.parametrize(("seed", "cost_spread", "satiation"),
                         [(0, 0.2, None), (1, 0.2, None), (2, 0.2, None), (3, 0.6, None),
                          (4, 0.2, (1.5, 4.0)), (5, 0.6, (2.0, 20.0))])
def test_matches_an_independent_scipy_nash_solve(seed, cost_spread, satiation, scope):
    rng = np.random.default_rng(seed)
    lines = list(rng.integers(1, 4, rng.integers(3, 5)))  # 3-4 firms with 1-3 lines each
    inputs = _random_market(rng, 1, int(rng.integers(2, 4)), lines, cost_spread=cost_spread,
                            satiation=satiation)
    eq = solve_prices(*inputs, scope=scope)
    assert eq.converged.all() and not eq.markup_capped.any()
    reference = _scipy_nash(_world(*inputs, 0), scope)
    sold = eq.has_demand[0]
    assert sold.sum() >= 4
    np.testing.assert_allclose(eq.price[0][sold], reference[sold], rtol=1e-7)
    # rival-price inputs are honoured: third-party lines keep their given prices
    fixed_cols = ~inputs[3][0]
    np.testing.assert_array_equal(eq.price[0][:, fixed_cols],
                                  np.broadcast_to(inputs[4][0][fixed_cols], (sold.shape[0],
                                                                             fixed_cols.sum())))


# ----------------------------------------------------------------------------- (b)
@pytest.mark.parametrize(("alpha", "e", "v", "v0"), [(2.0, 1.5, 1.0, 0.0), (0.5, 1.2, 3.0, 0.0),
                                                     (4.0, 3.0, -1.0, 1.0), (1.0, 1.01, 0.0, 0.0)])
def test_single_product_markup_closed_form(alpha, e, v, v0):
    cost = 0.7
    eq = solve_prices(_single_cell(alpha, e, v, v0), np.array([[cost]]), np.array([[0]]),
                      np.array([[True]]), np.array([[np.nan]]), markup_max=1000.0)
    assert eq.converged.all() and not eq.markup_capped.any()
    p = eq.price[0, 0, 0]
    s = np.exp(v - alpha * np.log(p)) / (np.exp(v0) + np.exp(v - alpha * np.log(p)))
    eps = e + alpha * (1 - s)
    assert p / cost == pytest.approx(eps / (eps - 1), rel=1e-12)

    # independent: root of d ln profit / d ln p = p/(p-c) - e - alpha (1 - s(p))
    def dlog_profit(log_p):
        q = np.exp(log_p)
        share = 1 / (1 + np.exp(v0 - v + alpha * log_p))
        return q / (q - cost) - e - alpha * (1 - share)

    root = optimize.brentq(dlog_profit, np.log(cost) + 1e-12, np.log(cost * 1e4), xtol=1e-15)
    assert p == pytest.approx(np.exp(root), rel=1e-11)
    assert p / cost < e / (e - 1)  # the e/(e-1) bound


# ----------------------------------------------------------------------------- (c)
def test_monopolist_of_a_cell_meets_the_aggregate_condition():
    """A firm owning every line: ``pi / R = 1 / (e + alpha (1 - S))``, ``S`` its total share."""
    alpha, e = 2.5, 1.4
    v = np.array([0.5, 1.0, -0.3])
    cost = np.array([[0.5, 1.2, 0.8]])
    market = _single_cell(alpha, e, v, v0=0.2, tau=3.0, pref=0.9, m=7.0, n_lines=3)
    eq = solve_prices(market, cost, np.zeros((1, 3), int), np.ones((1, 3), bool),
                      np.full((1, 3), np.nan))
    assert eq.converged.all()
    share, tokens = token_demand(market, eq.price)
    revenue = (eq.price[0, 0] * tokens[0, 0, 0]).sum()
    profit = ((eq.price[0, 0] - cost[0]) * tokens[0, 0, 0]).sum()
    assert profit / revenue == pytest.approx(1 / (e + alpha * (1 - share.sum())), rel=1e-12)
    assert revenue / (revenue - profit) < e / (e - 1)
    te = total_elasticity(market, eq.price, np.zeros((1, 3), int), np.ones((1, 3), bool))
    assert te[0, 0] == pytest.approx(e + alpha * (1 - share.sum()), rel=1e-13)


@pytest.mark.parametrize("scope", ["global", "regional"])
def test_summed_first_order_conditions_and_bounds_hold_for_every_firm(scope):
    """At the equilibrium ``sum_c R_fc = sum_c (e + alpha (1 - S_fc)) pi_fc`` per domain, so the
    firm's Lerner index is below ``1 / min e`` and single-line markups below ``e/(e-1)``."""
    rng = np.random.default_rng(11)
    market, cost, owner, priced, fixed = _random_market(rng, 2, 3, [1, 2, 3, 1])
    eq = solve_prices(market, cost, owner, priced, fixed, scope=scope)
    share, tokens = token_demand(market, eq.price)
    revenue = eq.price[:, :, None, :] * tokens
    profit = (eq.price - cost[:, None, :])[:, :, None, :] * tokens * priced[:, None, None, :]
    e = market.usage_elasticity[:, None, :]
    alpha = market.price_weight[:, None, :]
    axes = (1, 2) if scope == "global" else 2
    for f in range(4):
        mine = (owner == f) & priced
        firm_share = (share * mine[:, None, None, :]).sum(-1)
        rev = (revenue * mine[:, None, None, :]).sum(-1)
        pi = profit.sum(-1, where=mine[:, None, None, :])
        lhs, rhs = rev.sum(axes), ((e + alpha * (1 - firm_share)) * pi).sum(axes)
        np.testing.assert_allclose(lhs, rhs, rtol=1e-10)
        e_min = market.usage_elasticity.min(-1).reshape((-1,) + (1,) * (lhs.ndim - 1))
        sells = lhs > 0  # a firm whose lines are all withheld from a region sells nothing
        lerner = np.divide(pi.sum(axes), lhs, out=np.zeros(lhs.shape), where=sells)
        assert np.all(lerner[sells] < np.broadcast_to(1 / e_min, lhs.shape)[sells])
    single = (owner == 0) & priced
    bound = (e.min() / (e.min() - 1))
    assert np.all(eq.markup[np.broadcast_to(single[:, None, :], eq.markup.shape)] < bound)


# ----------------------------------------------------------------------------- (d)
@pytest.mark.parametrize("scope", ["global", "regional"])
def test_a_merger_raises_the_merging_firms_prices(scope):
    rng = np.random.default_rng(5)
    market, cost, owner, priced, fixed = _random_market(rng, 1, 2, [2, 1, 2, 1], unavailable=0.0)
    before = solve_prices(market, cost, owner, priced, fixed, scope=scope)
    merged_owner = np.where(owner == 1, 0, owner)  # firm 1 joins firm 0
    after = solve_prices(market, cost, merged_owner, priced, fixed, scope=scope, n_firms=4)
    merging = ((owner == 0) | (owner == 1)) & priced
    rise = after.price / before.price
    assert np.all(rise[:, :, merging[0]] > 1.0 + 1e-6)
    others = ~merging & priced
    assert np.all(rise[:, :, others[0]] >= 1.0)  # strategic complements: rivals follow


# ----------------------------------------------------------------------------- (e)
@pytest.mark.parametrize("scope", ["global", "regional"])
def test_batched_worlds_equal_single_worlds(scope):
    rng = np.random.default_rng(3)
    market, cost, owner, priced, fixed = _random_market(rng, 4, 3, [3, 1, 2])
    owner[2] = np.where(owner[2] == 2, 1, owner[2])  # an acquisition in world 2 only
    batch = solve_prices(market, cost, owner, priced, fixed, scope=scope, n_firms=3)
    for w in range(4):
        one = TokenMarket(**{k: (v[w:w + 1] if k != "reference_price" else v[w:w + 1])
                             for k, v in market.__dict__.items() if v is not None})
        alone = solve_prices(one, cost[w:w + 1], owner[w:w + 1], priced[w:w + 1],
                             fixed[w:w + 1], scope=scope, n_firms=3)
        np.testing.assert_array_equal(alone.price[0], batch.price[w])  # bit for bit
        assert alone.iterations[0] == batch.iterations[w]
        np.testing.assert_array_equal(alone.markup_capped[0], batch.markup_capped[w])


# ----------------------------------------------------------------------------- (f)
def _interior_guaranteed(d):
    """Sufficient condition (docs, section 4) that no line's best response is withdrawal."""
    x = np.geomspace(1.0005, 50.0, 3000)
    for k in np.flatnonzero(d["priced"]):
        sib = d["priced"] & (d["owner"] == d["owner"][k])
        sib[k] = False
        witness = np.ones(x.size, bool)
        for r in range(d["M"].shape[0]):
            sell = sib & d["avail"][r]
            if not d["avail"][r, k] or not sell.any():
                continue
            for s in range(d["M"].shape[1]):
                e = d["e"][s]
                kappa = (e - 1) ** (e - 1) / e**e
                w = np.exp(d["V"][r, s, sell] - d["alpha"][s] * np.log(d["cost"][sell])).sum()
                share_bound = w / (np.exp(d["V0"][r, s]) + w)
                ratio = (d["cost"][k] / d["cost"][sell].min()) ** (1 - e)
                witness &= (x - 1) * x ** (-e) / kappa * ratio > share_bound
        if not witness.any():
            return False
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(seed=st.integers(0, 2**32 - 1), n_regions=st.integers(1, 3),
       lines=st.lists(st.integers(1, 3), min_size=1, max_size=4),
       scope=st.sampled_from(["global", "regional"]), outside=st.floats(-1.0, 3.0))
def test_random_markets_converge_inside_the_bounds(seed, n_regions, lines, scope, outside):
    rng = np.random.default_rng(seed)
    inputs = _random_market(rng, 2, n_regions, lines, outside=outside, cost_spread=0.3)
    for w in range(2):
        assume(_interior_guaranteed(_world(*inputs, w)))
    market, cost, owner, priced, _ = inputs
    eq = solve_prices(*inputs, scope=scope, n_firms=len(lines))
    assert eq.converged.all()
    assert not eq.markup_capped.any()
    sold = eq.has_demand
    assert np.all((eq.markup[sold] > 1.0) & (eq.markup[sold] < 50.0))
    te = total_elasticity(market, eq.price, owner, priced, scope=scope, n_firms=len(lines))
    finite = np.isfinite(te)
    assert finite.any()
    e_min = market.usage_elasticity.min(axis=-1).reshape((-1,) + (1,) * (te.ndim - 1))
    assert np.all(te[finite] > np.broadcast_to(e_min, te.shape)[finite])
    assert np.all(te[finite] > 1.0)
    oe = own_elasticity(market, eq.price)
    assert np.all(oe > market.usage_elasticity[:, None, :, None])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_firms=st.integers(1, 5),
       e=st.floats(1.02, 4.0), alpha=st.floats(0.2, 6.0), spread=st.floats(0.0, 4.0))
def test_single_line_firms_never_need_the_cap(seed, n_firms, e, alpha, spread):
    """Single-line firms: ``1/(e+alpha) < margin < 1/e`` in every state (docs, section 3)."""
    rng = np.random.default_rng(seed)
    market, cost, owner, priced, fixed = _random_market(rng, 2, 2, [1] * n_firms,
                                                        fixed_lines=0)
    market = TokenMarket(**{**market.__dict__,
                            "utility": market.utility * spread,
                            "usage_elasticity": np.array([e, e + 0.5]),
                            "price_weight": np.array([alpha, 0.5 * alpha])})
    eq = solve_prices(market, cost, owner, priced, fixed, markup_max=1e4)
    assert eq.converged.all() and not eq.markup_capped.any()
    sold = eq.has_demand
    assert np.all(eq.markup[sold] < e / (e - 1) * (1 + 1e-12))
    upper_eps = e + 0.5 + alpha
    assert np.all(eq.markup[sold] > upper_eps / (upper_eps - 1) * (1 - 1e-12))


# ----------------------------------------------------------------------------- (g)
def test_regional_scope_isolates_the_us_from_an_eu_only_change():
    """Products withdrawn from the EU: regional US prices do not move, global ones do."""
    rng = np.random.default_rng(8)
    market, cost, owner, priced, fixed = _random_market(rng, 1, 2, [2, 1, 2], unavailable=0.0)
    eu_ban = market.available.copy()
    eu_ban[:, 1, [1, 3]] = False  # region 1 = EU loses two lines
    banned = TokenMarket(**{**market.__dict__, "available": eu_ban})
    for scope, moves in (("regional", False), ("global", True)):
        base = solve_prices(market, cost, owner, priced, fixed, scope=scope)
        ban = solve_prices(banned, cost, owner, priced, fixed, scope=scope)
        us_base, us_ban = base.price[0, 0], ban.price[0, 0]
        if moves:
            assert np.max(np.abs(us_ban / us_base - 1)) > 1e-3
        else:
            np.testing.assert_array_equal(us_ban, us_base)
            assert np.max(np.abs(ban.price[0, 1] / base.price[0, 1] - 1)[eu_ban[0, 1]]) > 1e-3


# ----------------------------------------------------------------------------- (h)
def test_the_cap_binds_and_is_reported_when_withdrawal_pays():
    """A line 10x as costly as its sibling, e = 2, sibling share ~0.8: the firm earns more by
    diverting its buyers to the cheap line, so its best response is the cap (docs, 4)."""
    market = _single_cell(2.0, 2.0, [3.0, 3.0], v0=0.0, n_lines=2)
    cost = np.array([[1.0, 10.0]])
    eq = solve_prices(market, cost, np.zeros((1, 2), int), np.ones((1, 2), bool),
                      np.full((1, 2), np.nan), markup_max=30.0)
    assert eq.converged.all()
    np.testing.assert_array_equal(eq.markup_capped[0, 0], [False, True])
    assert eq.markup[0, 0, 1] == pytest.approx(30.0, rel=1e-12)
    d = _world(market, cost, np.zeros((1, 2), int), np.ones((1, 2), bool),
               np.full((1, 2), np.nan), 0)
    reference = _scipy_nash(d, "global", markup_max=30.0, polish=False)
    np.testing.assert_allclose(eq.price[0], reference, rtol=1e-6)


# ----------------------------------------------------------------------------- edge cases
def test_empty_cells_and_lines_that_sell_nowhere():
    rng = np.random.default_rng(21)
    market, cost, owner, priced, fixed = _random_market(rng, 1, 3, [2, 1, 1], unavailable=0.0)
    size = market.market_size.copy()
    size[0, 2] = 0.0  # region 2 has no aware adopters yet
    avail = market.available.copy()
    avail[0, :, 3] = False  # line 3 sells nowhere
    avail[0, 1, 0] = False  # line 0 not in region 1
    empty = TokenMarket(**{**market.__dict__, "market_size": size, "available": avail})
    eq = solve_prices(empty, cost, owner, priced, fixed, scope="regional")
    assert eq.converged.all() and np.all(np.isfinite(eq.price))
    assert not eq.has_demand[0, 2].any() and not eq.has_demand[0, :, 3].any()
    assert not eq.has_demand[0, 1, 0]
    # the conventional price where nothing sells: margin 1 / mean(e + alpha)
    mean_eps = np.mean(market.usage_elasticity[0] + market.price_weight[0])
    assert eq.markup[0, 2, 1] == pytest.approx(mean_eps / (mean_eps - 1), rel=1e-13)
    # under global scope an empty cell changes nothing, exactly
    moved = TokenMarket(**{**empty.__dict__, "utility": empty.utility + np.where(
        np.arange(3)[None, :, None, None] == 2, 5.0, 0.0)})
    a = solve_prices(empty, cost, owner, priced, fixed, scope="global")
    b = solve_prices(moved, cost, owner, priced, fixed, scope="global")
    np.testing.assert_array_equal(a.price, b.price)
    dead = TokenMarket(**{**market.__dict__, "alive": np.array([[True, True, True, False,
                                                                 True]])})
    c = solve_prices(dead, cost, owner, priced, fixed)
    assert not c.has_demand[0, :, 3].any() and c.converged.all()


def test_total_elasticity_is_the_usage_weighted_firm_elasticity():
    rng = np.random.default_rng(2)
    market, cost, owner, priced, fixed = _random_market(rng, 1, 2, [2, 1], fixed_lines=1,
                                                        unavailable=0.0)
    price = cost[:, None, :] * 1.4 * np.ones((1, 2, 1))
    share, tokens = token_demand(market, price)
    got = total_elasticity(market, price, owner, priced)
    got_regional = total_elasticity(market, price, owner, priced, scope="regional")
    e, alpha = market.usage_elasticity[0], market.price_weight[0]
    for f in range(2):
        mine = (owner[0] == f) & priced[0]
        S = share[0][..., mine].sum(-1)  # [R, S]
        Q = tokens[0][..., mine].sum(-1)
        eps = e + alpha * (1 - S)
        assert got[0, f] == pytest.approx((eps * Q).sum() / Q.sum(), rel=1e-13)
        np.testing.assert_allclose(got_regional[0, :, f], (eps * Q).sum(1) / Q.sum(1),
                                   rtol=1e-13)
    nobody = total_elasticity(market, price, owner, priced, n_firms=3)
    assert np.isnan(nobody[0, 2])


def test_markups_adjust_geometrically_and_follow_falling_costs():
    prev = np.array([3.0, 1.2, 2.0])
    target = np.array([1.5, 1.5, 2.0])
    for phi in (0.0, 0.25, 1.0):
        got = adjust_markups(prev, target, phi)
        np.testing.assert_allclose(np.log(got / target), (1 - phi) * np.log(prev / target),
                                   atol=1e-15)
    # costs fall 10 % a month with a fixed target: the markup stays put, the price follows
    cost, markup = 1.0, 1.5
    for _ in range(24):
        cost *= 0.9
        markup = adjust_markups(markup, 1.5, 0.3)
    assert markup == pytest.approx(1.5, rel=1e-15) and cost * markup == pytest.approx(
        1.5 * 0.9**24)
    with pytest.raises(ValueError):
        adjust_markups(prev, target, 1.5)


def test_bad_inputs_are_refused():
    market = _single_cell(2.0, 1.5, [0.0, 0.0], n_lines=2)
    ok = dict(owner=np.zeros((1, 2), int), priced=np.array([[True, False]]),
              fixed_price=np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        solve_prices(market, np.array([[0.0, 1.0]]), **ok)
    with pytest.raises(ValueError):
        solve_prices(market, np.array([[1.0, 1.0]]), **{**ok, "fixed_price": np.array([[1, 0]])})
    with pytest.raises(ValueError):
        solve_prices(market, np.array([[1.0, 1.0]]), **ok, scope="national")
