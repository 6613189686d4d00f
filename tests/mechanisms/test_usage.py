"""Intensive margin: constant-elasticity usage, spend, subscription revenue, surplus."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from sim.mechanisms.usage import (
    indirect_value,
    marshallian_surplus,
    price_paid,
    satiated,
    satiated_elasticity,
    serving_bill,
    spend_per_adopter,
    subscription_revenue,
    subscription_usage_per_adopter,
    token_usage_per_adopter,
)


def _usage_at(price, elasticity, base=3.0, reference=2.0):
    """Usage of one product in one world, region and segment."""
    return token_usage_per_adopter(
        np.array([base]), np.full((1, 1, 1), price), np.full((1, 1, 1), reference),
        np.array([elasticity]),
    )[0, 0, 0, 0]


def test_shapes_and_definition():
    rng = np.random.default_rng(5)
    base = rng.uniform(1, 10, size=(2, 3))  # [W, S]
    price = rng.uniform(0.1, 20, size=(2, 4, 5))  # [W, R, K]
    reference = rng.uniform(0.5, 5, size=(2, 4, 3))  # [W, R, S]
    elasticity = np.array([0.5, 1.0, 1.6])  # [S], the same in every world
    tau = token_usage_per_adopter(base, price, reference, elasticity)
    assert tau.shape == (2, 4, 3, 5)
    w, r, s, k = 1, 2, 0, 3
    expected = base[w, s] * (price[w, r, k] / reference[w, r, s]) ** -elasticity[s]
    assert tau[w, r, s, k] == pytest.approx(expected, rel=1e-14)
    # At the reference price usage is the base usage.
    at_reference = token_usage_per_adopter(base, reference[..., :1], reference[..., :1], [1.3])
    np.testing.assert_allclose(at_reference[..., 0, 0], base[:, :1] * np.ones((1, 4)), rtol=1e-14)


@pytest.mark.parametrize("elasticity", [0.0, 0.3, 1.0, 1.4, 2.5])
@pytest.mark.parametrize("price", [0.05, 1.0, 37.0])
def test_elasticity_is_exactly_minus_e(elasticity, price):
    h = 1e-6
    up, down = _usage_at(price * np.exp(h), elasticity), _usage_at(price * np.exp(-h), elasticity)
    assert (np.log(up) - np.log(down)) / (2 * h) == pytest.approx(-elasticity, abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 3.0), st.floats(0.01, 100.0), st.floats(0.05, 0.95))
def test_spend_rises_when_price_falls_iff_e_above_one(elasticity, price, cut):
    def spend(x):
        return spend_per_adopter(np.full((1, 1, 1), x),
                                 _usage_at(x, elasticity) * np.ones((1, 1, 1, 1)))[0, 0, 0, 0]

    before, after = spend(price), spend(price * cut)
    if elasticity > 1.0 + 1e-9:
        assert after > before
    elif elasticity < 1.0 - 1e-9:
        assert after < before
    else:
        assert after == pytest.approx(before, rel=1e-12)


def test_nan_price_marks_unavailable_and_nonpositive_refused():
    price = np.array([[[1.0, np.nan]]])
    tau = token_usage_per_adopter([2.0], price, np.ones((1, 1, 1)), [1.2])
    assert np.isfinite(tau[..., 0]).all() and np.isnan(tau[..., 1]).all()
    with pytest.raises(ValueError):
        token_usage_per_adopter([2.0], np.array([[[0.0]]]), np.ones((1, 1, 1)), [1.2])
    with pytest.raises(ValueError):
        token_usage_per_adopter([2.0], np.array([[[1.0]]]), np.zeros((1, 1, 1)), [1.2])


def test_subscription_segments():
    base = np.array([[40.0, 5.0]])  # [W=1, S=2] M tokens per month
    usage = subscription_usage_per_adopter(base, n_regions=2, n_products=3)
    assert usage.shape == (1, 2, 2, 3)
    np.testing.assert_array_equal(usage[0, 1, :, 2], [40.0, 5.0])
    sub_price = np.array([[[20.0, 0.0 + 8.0, np.nan], [20.0, 8.0, 19.99]]])  # [W, R, K]
    fraction = np.array([0.05, 0.5])
    revenue = subscription_revenue(fraction, sub_price)
    assert revenue[0, 1, 0, 2] == pytest.approx(0.05 * 19.99)
    assert revenue[0, 0, 1, 0] == pytest.approx(0.5 * 20.0)
    assert np.isnan(revenue[0, 0, 0, 2])
    value = indirect_value(fraction, np.array([[[1.5, 0.0, 2.0], [0.4, 0.0, 0.3]]]))
    assert value[0, 0, 0, 0] == pytest.approx(0.95 * 1.5)
    assert value[0, 1, 1, 1] == 0.0
    cost = np.array([[2.0, 0.5, 1.0]])  # [W, K] USD per M tokens
    bill = serving_bill(usage, cost)
    assert bill[0, 1, 0, 0] == pytest.approx(80.0) and bill[0, 0, 1, 1] == pytest.approx(2.5)
    regional = serving_bill(usage, np.broadcast_to(cost[:, None, :], (1, 2, 3)))
    np.testing.assert_array_equal(regional, bill)
    with pytest.raises(ValueError):
        subscription_revenue(np.array([1.2, 0.1]), sub_price)


def test_price_paid():
    # One product: the price paid is its price.
    price = np.array([[[2.5]]])
    usage = np.array([[[[7.0]]]])
    assert price_paid(spend_per_adopter(price, usage), usage)[0, 0, 0] == pytest.approx(2.5)
    # Several: the usage-weighted mean of prices.
    prices = np.array([1.0, 10.0])
    billed = np.array([90.0, 10.0])
    assert price_paid(prices * billed, billed) == pytest.approx((90 + 100) / 100)
    assert np.isnan(price_paid(np.zeros((2, 3)), np.zeros((2, 3)))).all()


def _demand_integral(price, usage, elasticity, upper):
    scale = usage * price**elasticity
    value, _error = quad(lambda x: scale * x ** (-elasticity), price, upper,
                         epsabs=0.0, epsrel=1e-12, limit=200)
    return value


@pytest.mark.parametrize("elasticity", [0.4, 0.999999, 1.0, 1.000001, 1.3, 2.2])
@pytest.mark.parametrize("price", [0.2, 3.0])
def test_surplus_with_choke_matches_quadrature(elasticity, price):
    usage, choke = 12.0, 60.0
    expected = _demand_integral(price, usage, elasticity, choke)
    assert marshallian_surplus(price, usage, elasticity, choke) == pytest.approx(expected,
                                                                                  rel=1e-8)


@pytest.mark.parametrize("elasticity", [1.2, 1.7, 3.0])
def test_surplus_without_choke_matches_quadrature(elasticity):
    price, usage = 1.5, 9.0
    expected = _demand_integral(price, usage, elasticity, np.inf)
    assert marshallian_surplus(price, usage, elasticity) == pytest.approx(expected, rel=1e-8)
    assert marshallian_surplus(price, usage, elasticity) == pytest.approx(
        price * usage / (elasticity - 1))


def test_surplus_edge_cases_and_broadcasting():
    assert marshallian_surplus(2.0, 5.0, 0.8) == np.inf  # diverges without a choke price
    assert marshallian_surplus(2.0, 5.0, 1.5, choke_price=2.0) == 0.0
    assert marshallian_surplus(3.0, 5.0, 1.5, choke_price=2.0) == 0.0
    elasticity = np.array([[0.5], [1.0], [2.0]])
    price = np.array([1.0, 4.0])
    values = marshallian_surplus(price, 10.0, elasticity, choke_price=100.0)
    assert values.shape == (3, 2)
    assert values[1, 0] == pytest.approx(10.0 * np.log(100.0))
    # Surplus falls as the price rises along one demand curve.
    tau = 10.0 * price ** -2.0
    along_curve = marshallian_surplus(price, tau, 2.0, choke_price=100.0)
    assert along_curve[0] > along_curve[1]


def test_satiation_is_smooth_bounded_and_exact_at_the_reference() -> None:
    """Issue 14: ``tau_s m / (1 + (m - 1) / S)``: tau_s at p_ref, below S tau_s always, near
    the constant-elasticity curve for dear lines; its elasticity matches a finite difference."""
    price = np.array([[[100.0, 5.0, 0.05, 1e-6]]])
    reference = np.array([[[5.0]]])
    free = token_usage_per_adopter(np.array([2.0]), price, reference, np.array([1.5]))
    capped = token_usage_per_adopter(np.array([2.0]), price, reference, np.array([1.5]),
                                     satiation=np.array([3.0]))
    assert capped[0, 0, 0, 1] == pytest.approx(2.0)  # at p_ref: tau_s
    assert np.all(capped < 2.0 * 3.0)
    assert capped[0, 0, 0, 3] == pytest.approx(6.0, rel=1e-6)  # nearly free: S tau_s
    assert capped[0, 0, 0, 0] / free[0, 0, 0, 0] == pytest.approx(1.5, rel=0.02)  # S/(S-1)
    assert free[0, 0, 0, 2] == pytest.approx(2.0 * 100.0 ** 1.5)
    for m in (0.1, 1.0, 10.0):
        h = 1e-6
        up = satiated(np.array(m * np.exp(-1.5 * h)), np.array(3.0))
        down = satiated(np.array(m * np.exp(1.5 * h)), np.array(3.0))
        numeric = -(np.log(up) - np.log(down)) / (2 * h)
        assert satiated_elasticity(1.5, np.array(m), np.array(3.0)) == pytest.approx(numeric)
    with pytest.raises(ValueError, match="satiation"):
        token_usage_per_adopter(np.array([2.0]), price, reference, np.array([1.5]),
                                satiation=np.array([1.0]))
