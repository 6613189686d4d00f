"""Concentration over firms, openness over products, dependence: analytic and property checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.mechanisms.concentration import (
    concentration_ratio,
    effective_firms,
    firm_totals,
    foreign_dependence,
    hhi,
    hhi_market,
    hhi_pooled,
    home_share,
    open_share,
    pool_segments,
    shares,
    usage_by_home_region,
)

quantities = arrays(
    np.float64,
    st.integers(1, 8),
    # Zero or at least 1e-6: subnormal quantities scaled down would underflow to an empty market.
    elements=st.one_of(st.just(0.0), st.floats(1e-6, 1e6)),
)
positive_markets = quantities.filter(lambda q: q.sum() > 0)


# --- HHI on known markets -------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 0.01, 1e-3, 7.5e9])
def test_hhi_50_30_20_is_3800_at_any_scale(scale):
    assert hhi(np.array([50.0, 30.0, 20.0]) * scale) == pytest.approx(3800.0, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 40])
def test_n_equal_firms(n):
    value = hhi(np.full(n, 3.0))
    assert value == pytest.approx(10_000.0 / n, rel=1e-12)
    assert effective_firms(value) == pytest.approx(n, rel=1e-12)


def test_firm_level_aggregation_of_two_products():
    # Firm 0 owns products 0 (30 %) and 1 (20 %); firm 1 owns product 2 (50 %).
    product_share = np.array([[30.0, 20.0, 50.0]])
    owner = np.array([[0, 0, 1]])
    totals = firm_totals(product_share, owner, n_firms=2)
    np.testing.assert_array_equal(totals, [[50.0, 50.0]])
    assert hhi(totals)[0] == pytest.approx(5000.0)
    assert hhi(product_share)[0] == pytest.approx(3800.0)  # what product-level would give


def test_acquisition_in_one_world_only():
    usage = np.array([[[40.0, 35.0, 25.0]], [[40.0, 35.0, 25.0]]])  # [W=2, R=1, K=3]
    owner = np.array([[0, 1, 2], [0, 1, 1]])  # world 1: firm 1 has absorbed product 2
    values = hhi(firm_totals(usage, owner, n_firms=3))
    assert values[0, 0] == pytest.approx(40**2 + 35**2 + 25**2)
    assert values[1, 0] == pytest.approx(40**2 + 60**2)


def test_firm_totals_shape_and_dead_products():
    rng = np.random.default_rng(3)
    quantity = rng.uniform(0, 5, size=(2, 3, 4, 5))  # [W, R, S, K]
    owner = np.array([[0, 1, 1, 2, 0], [2, 2, 1, 0, 3]])
    alive = np.array([[True, True, False, True, True], [True, True, True, True, False]])
    totals = firm_totals(quantity, owner, n_firms=4, alive=alive)
    assert totals.shape == (2, 3, 4, 4)
    for w in range(2):
        for f in range(4):
            members = (owner[w] == f) & alive[w]
            np.testing.assert_allclose(totals[w, ..., f], quantity[w][..., members].sum(-1))
    alive_quantity = np.where(alive[:, None, None, :], quantity, 0.0)
    np.testing.assert_allclose(totals.sum(-1), alive_quantity.sum(-1))


def test_firm_totals_batched_equals_single_bitwise():
    rng = np.random.default_rng(11)
    quantity = rng.uniform(0, 1e6, size=(4, 2, 3, 6))
    owner = rng.integers(0, 3, size=(4, 6))
    batched = firm_totals(quantity, owner, 3)
    for w in range(4):
        single = firm_totals(quantity[w : w + 1], owner[w : w + 1], 3)
        assert np.array_equal(batched[w : w + 1], single)


def test_firm_totals_nan_reaches_only_its_owner():
    totals = firm_totals(np.array([[np.nan, 1.0, 2.0]]), np.array([[0, 1, 1]]), 2)
    assert np.isnan(totals[0, 0]) and totals[0, 1] == 3.0


def test_firm_totals_rejects_bad_owner():
    with pytest.raises(ValueError):
        firm_totals(np.ones((1, 2)), np.array([[0, 2]]), n_firms=2)
    with pytest.raises(ValueError):
        firm_totals(np.ones((1, 2)), np.array([0, 1]), n_firms=2)


def test_negative_quantities_refused():
    with pytest.raises(ValueError):
        hhi(np.array([1.0, -0.5]))


# --- Empty markets --------------------------------------------------------------------------

def test_empty_markets_are_nan_without_warnings():
    zeros = np.zeros((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(hhi(zeros)).all()
        assert np.isnan(concentration_ratio(zeros, 1)).all()
        assert np.isnan(effective_firms(hhi(zeros))).all()
        assert np.isnan(shares(zeros)).all()
        assert np.isnan(open_share(zeros, np.zeros((2, 4), bool))).all()
        owner = np.zeros((2, 4), int)
        home = np.zeros((2, 1), int)
        assert np.isnan(home_share(zeros, owner, home)).all()
        assert np.isnan(foreign_dependence(zeros, owner, home)).all()
        assert np.isnan(hhi_market(zeros[:, None], zeros[:, None], zeros[:, None],
                                   ["revenue", "usage", "users"])).all()


def test_one_empty_cell_does_not_spoil_others():
    market = np.array([[0.0, 0.0], [1.0, 3.0]])
    values = hhi(market)
    assert np.isnan(values[0]) and values[1] == pytest.approx(6250.0)


# --- Properties -----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(positive_markets)
def test_hhi_bounds(q):
    active = np.count_nonzero(q)
    value = hhi(q)
    assert 10_000.0 / active * (1 - 1e-9) <= value <= 10_000.0 * (1 + 1e-12)


@settings(max_examples=200, deadline=None)
@given(positive_markets, st.floats(1e-6, 1e6), st.randoms(use_true_random=False))
def test_hhi_invariant_to_scale_and_permutation(q, scale, random):
    order = list(range(q.size))
    random.shuffle(order)
    assert hhi(q * scale) == pytest.approx(hhi(q), rel=1e-9)
    assert hhi(q[order]) == pytest.approx(hhi(q), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(positive_markets.filter(lambda q: q.size >= 2), st.data())
def test_merging_two_firms_never_lowers_hhi(q, data):
    i, j = data.draw(st.lists(st.integers(0, q.size - 1), min_size=2, max_size=2, unique=True))
    merged = np.delete(q, j)
    merged[i if i < j else i - 1] += q[j]
    assert hhi(merged) >= hhi(q) * (1 - 1e-12)


@settings(max_examples=200, deadline=None)
@given(positive_markets)
def test_cr1_le_cr4_le_1(q):
    cr1, cr4 = concentration_ratio(q, 1), concentration_ratio(q, 4)
    assert cr1 == pytest.approx(q.max() / q.sum())
    assert cr1 <= cr4 * (1 + 1e-12) and cr4 <= 1 + 1e-12
    assert concentration_ratio(q, q.size) == pytest.approx(1.0)


# --- Openness over products -----------------------------------------------------------------

def test_open_share_counts_products_not_firms():
    usage = np.array([[[10.0, 30.0, 60.0], [0.0, 0.0, 0.0]]])  # [W=1, R=2, K=3]
    is_open = np.array([[True, False, True]])  # one firm may own both kinds
    result = open_share(usage, is_open)
    assert result[0, 0] == pytest.approx(0.7)
    assert np.isnan(result[0, 1])


# --- Dependence -----------------------------------------------------------------------------

def _dependence_fixture():
    # Regions: 0 = US, 1 = EU, 2 = CN; a fourth home index 3 = outside the model.
    usage = np.array([[[50.0, 20.0, 10.0, 20.0],
                       [30.0, 30.0, 40.0, 0.0],
                       [5.0, 0.0, 90.0, 5.0]]])  # [W=1, R=3, K=4]
    owner = np.array([[0, 1, 2, 3]])
    firm_home = np.array([[0, 1, 2, 3]])  # firm f headquartered in home index f
    return usage, owner, firm_home


def test_home_share_and_foreign_dependence_known_values():
    usage, owner, firm_home = _dependence_fixture()
    home = home_share(usage, owner, firm_home, n_home_regions=4)
    foreign = foreign_dependence(usage, owner, firm_home, n_home_regions=4)
    np.testing.assert_allclose(home[0], [0.5, 0.3, 0.9])
    np.testing.assert_allclose(foreign[0], [0.2, 0.4, 0.05])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_home_plus_foreign_regions_is_one(n_worlds, n_regions, n_products, seed):
    rng = np.random.default_rng(seed)
    n_firms = 5
    usage = rng.uniform(0.01, 10, size=(n_worlds, n_regions, 2, n_products))
    owner = rng.integers(0, n_firms, size=(n_worlds, n_products))
    firm_home = rng.integers(0, n_regions + 1, size=(n_worlds, n_firms))
    by_home = usage_by_home_region(usage, owner, firm_home, n_regions + 1)
    total = usage.sum(-1)
    home = home_share(usage, owner, firm_home, n_regions + 1)
    foreign_parts = by_home / total[..., None]
    for r in range(n_regions):
        foreign_parts[:, r, :, r] = 0.0
    np.testing.assert_allclose(home + foreign_parts.sum(-1), 1.0, rtol=1e-12)
    dependence = foreign_dependence(usage, owner, firm_home, n_regions + 1)
    np.testing.assert_allclose(dependence, foreign_parts.max(-1), rtol=1e-12)
    assert np.all(dependence <= 1 - home + 1e-12)


# --- Segment "all" and the relevant market --------------------------------------------------

def test_pooling_headcounts_is_refused():
    with pytest.raises(ValueError, match="never pooled"):
        pool_segments(np.ones((1, 1, 2, 3)), "users")
    with pytest.raises(ValueError):
        pool_segments(np.ones((1, 1, 2, 3)), "adopters")


def test_pooled_revenue_hhi():
    revenue = np.array([[[[60.0, 40.0, 0.0], [0.0, 50.0, 50.0]]]])  # [W, R, S=2, F=3]
    np.testing.assert_allclose(pool_segments(revenue, "revenue"), [[[60.0, 90.0, 50.0]]])
    expected = 10_000 * ((60 / 200) ** 2 + (90 / 200) ** 2 + (50 / 200) ** 2)
    assert hhi_pooled(revenue, "usage")[0, 0] == pytest.approx(expected)


def test_hhi_market_picks_each_segments_measure():
    # Segments: enterprise (revenue), consumer (users), developer (usage). [W=1, R=1, S=3, F=2]
    revenue = np.array([[[[90.0, 10.0], [50.0, 50.0], [70.0, 30.0]]]])
    usage = np.array([[[[50.0, 50.0], [80.0, 20.0], [60.0, 40.0]]]])
    users = np.array([[[[20.0, 80.0], [100.0, 0.0], [50.0, 50.0]]]])
    result = hhi_market(revenue, usage, users, ["revenue", "users", "usage"])
    np.testing.assert_allclose(result[0, 0], [8200.0, 10_000.0, 5200.0])
    with pytest.raises(ValueError):
        hhi_market(revenue, usage, users, ["revenue", "users"])
    with pytest.raises(ValueError):
        hhi_market(revenue, usage, users, ["revenue", "users", "spend"])
