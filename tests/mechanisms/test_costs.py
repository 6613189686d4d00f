"""Serving cost relative to the frontier (MODEL.md 5): closed forms of sim.mechanisms.costs."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sim.mechanisms import costs


def test_frontier_cost_falls_by_the_factor_each_year():
    c0 = np.array([10.0, 4.0])  # [W]
    fall = np.array([2.0, 3.0])
    assert costs.frontier_cost(0, c0, fall) == pytest.approx(c0, rel=1e-15)
    np.testing.assert_allclose(costs.frontier_cost(12, c0, fall), c0 / fall, rtol=1e-14)
    np.testing.assert_allclose(costs.frontier_cost(30, c0, fall), c0 / fall**2.5, rtol=1e-14)
    # a month is a twelfth of the year's fall, whatever the month
    months = np.arange(0, 84)
    path = costs.frontier_cost(months, 10.0, 2.0)
    np.testing.assert_allclose(path[1:] / path[:-1], 2.0 ** (-1 / 12), rtol=1e-13)
    assert np.all(costs.frontier_cost(months, 10.0, 1.0) == 10.0)  # no fall: exactly flat


def test_serving_cost_at_and_below_the_frontier():
    c_f = np.array([6.0, 2.0])  # [W]
    q_f = np.array([150.0, 160.0])
    gamma = np.array([0.1, 0.2])
    size = np.array([[1.0, 2.0, 0.5], [1.0, 1.0, 1.0]])
    capability = np.array([[150.0, 150.0, 140.0], [160.0, 155.0, 160.0 - 1 / 0.2]])
    got = costs.serving_cost(c_f, size, capability, q_f, gamma)
    assert got.shape == (2, 3)
    expected = np.array([
        [6.0, 12.0, 0.5 * 6.0 * math.exp(-1.0)],  # 10 points below at gamma 0.1: e^-1
        [2.0, 2.0 * math.exp(-1.0), 2.0 * math.exp(-1.0)],
    ])
    np.testing.assert_allclose(got, expected, rtol=1e-14)


def test_scalar_gamma_broadcasts_and_bad_shapes_are_refused():
    got = costs.serving_cost(np.array([1.0]), np.ones((1, 2)), np.array([[10.0, 0.0]]),
                             np.array([10.0]), 0.05)
    np.testing.assert_allclose(got, [[1.0, math.exp(-0.5)]], rtol=1e-15)
    with pytest.raises(ValueError):
        costs.serving_cost(np.array([1.0]), np.ones(2), np.ones(2), np.array([1.0]), 0.1)
    with pytest.raises(ValueError):
        costs.frontier_cost(1, -1.0, 2.0)
    with pytest.raises(ValueError):
        costs.gamma_for_declines(10.0, 0.0, 15.0)


def _yearly_ratio(fall: float, gamma: float, gain: float, *, at_frontier: bool) -> float:
    """Cost of one line at month 12 over month 0, simulated with the cost functions."""
    q_f0 = 100.0
    q_f = np.array([q_f0, q_f0 + gain])  # frontier at months 0 and 12 (two "worlds")
    c_f = costs.frontier_cost(np.array([0.0, 12.0]), 5.0, fall)
    q_line = q_f[:, None] if at_frontier else np.full((2, 1), 90.0)
    c = costs.serving_cost(c_f, np.ones((2, 1)), q_line, q_f, gamma)
    return float(c[0, 0] / c[1, 0])


@pytest.mark.parametrize(("fall", "gamma", "gain"), [(2.5, 0.0924, 15.0), (1.5, 0.2, 8.0),
                                                       (4.0, 0.06, 15.0)])
def test_declines_match_the_simulated_cost_paths(fall, gamma, gain):
    assert _yearly_ratio(fall, gamma, gain, at_frontier=True) == pytest.approx(
        float(costs.flagship_decline(fall)), rel=1e-13)
    expected = fall * math.exp(gamma * gain)  # written out, not taken from the module
    assert _yearly_ratio(fall, gamma, gain, at_frontier=False) == pytest.approx(expected,
                                                                                  rel=1e-13)
    assert float(costs.constant_capability_decline(fall, gamma, gain)) == pytest.approx(
        expected, rel=1e-14)


def test_gamma_for_declines_inverts_the_constant_capability_decline():
    # central calibration: 10x a year at constant capability, flagship 2.5x, 15 ECI points
    assert float(costs.gamma_for_declines(10.0, 2.5, 15.0)) == pytest.approx(math.log(4) / 15)
    # the range quoted in CALIBRATION.md: D 10-40, f 1.5-4, g = 15
    assert float(costs.gamma_for_declines(10.0, 4.0, 15.0)) == pytest.approx(0.0611, abs=1e-4)
    assert float(costs.gamma_for_declines(40.0, 1.5, 15.0)) == pytest.approx(0.2189, abs=1e-4)
    decline = np.array([10.0, 20.0, 40.0])
    fall = np.array([1.5, 2.5, 4.0])
    gamma = costs.gamma_for_declines(decline, fall, 15.0)
    np.testing.assert_allclose(costs.constant_capability_decline(fall, gamma, 15.0), decline,
                               rtol=1e-14)
    # a target below the flagship's decline needs a negative gamma: reported, not hidden
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(costs.gamma_for_declines(2.0, 3.0, 15.0)) < 0.0
