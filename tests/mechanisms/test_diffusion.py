"""Bass diffusion: exact monthly map against the closed form and an independent ODE solve."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from sim.mechanisms.diffusion import awareness_probability, bass_closed_form, bass_peak_time

# Sultan, Farley & Lehmann (1990) averages, per year, converted to per month.
P_MONTH, Q_MONTH = 0.03 / 12, 0.38 / 12

unit = st.floats(0.0, 1.0, allow_nan=False)
rate = st.floats(0.0, 50.0, allow_nan=False)


def _iterate(share0, phi, p, q, months, dt=1.0):
    """Apply the monthly map: F <- F + (1 - F) * pi."""
    path = [np.asarray(share0, dtype=float)]
    for _ in range(months):
        f = path[-1]
        path.append(f + (1.0 - f) * awareness_probability(f, phi, p, q, dt))
    return np.array(path)


@pytest.mark.parametrize(("p", "q"), [(P_MONTH, Q_MONTH), (0.01, 0.4), (0.2, 0.05), (0.003, 1.5)])
def test_choice_off_reproduces_bass_closed_form(p, q):
    months = 240
    path = _iterate(np.zeros((1, 1, 1)), np.ones((1, 1, 1)), p, q, months)[:, 0, 0, 0]
    expected = bass_closed_form(np.arange(months + 1.0), p, q)
    np.testing.assert_allclose(path[1:], expected[1:], rtol=1e-10)
    assert path[0] == 0.0


@pytest.mark.parametrize("share0", [0.0, 0.05, 0.6])
def test_riccati_with_phi_matches_solve_ivp(share0):
    p, q, phi, months = 0.01, 0.5, 0.4, 60

    def rhs(_t, f):
        return (p + q * phi * f) * (1.0 - f)

    solution = solve_ivp(rhs, (0.0, months), [share0], t_eval=np.arange(months + 1.0),
                         method="DOP853", rtol=1e-12, atol=1e-14)
    path = _iterate(np.full((1, 1, 1), share0), np.full((1, 1, 1), phi), p, q, months)
    np.testing.assert_allclose(path[:, 0, 0, 0], solution.y[0], rtol=1e-7, atol=1e-12)


def test_half_month_steps_compose_exactly():
    # The map is the exact flow: two half steps equal one full step (phi held fixed).
    f0, phi = np.array([[[0.1, 0.5]]]), np.array([[[0.3, 0.9]]])
    one = _iterate(f0, phi, 0.02, 0.6, 1)[-1]
    two = _iterate(f0, phi, 0.02, 0.6, 2, dt=0.5)[-1]
    np.testing.assert_allclose(one, two, rtol=1e-13)


def test_broadcasting_over_worlds_regions_segments():
    share = np.full((2, 3, 4), 0.2)
    phi = np.full((2, 3, 4), 0.5)
    p = np.array([0.01, 0.02, 0.03, 0.04])  # per segment
    q = np.array([[[0.3, 0.3, 0.3, 0.3]], [[0.6, 0.6, 0.6, 0.6]]])  # per world draw
    prob = awareness_probability(share, phi, p, q)
    assert prob.shape == (2, 3, 4)
    assert np.all(np.diff(prob, axis=-1) > 0) and np.all(prob[1] > prob[0])
    single = awareness_probability(share[1:], phi[1:], p, q[1:])
    assert np.array_equal(prob[1:], single)


@settings(max_examples=300, deadline=None)
@given(unit, unit, rate, rate, st.floats(1e-3, 100.0))
def test_probability_in_unit_interval(share, phi, p, q, dt):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prob = awareness_probability(np.array(share), np.array(phi), p, q, dt)
    assert 0.0 <= prob <= 1.0


@settings(max_examples=300, deadline=None)
@given(unit, unit, st.floats(1e-4, 2.0), st.floats(1e-4, 2.0), st.floats(1.05, 3.0))
def test_monotone_in_p_q_and_phi(share, phi, p, q, factor):
    # Weak monotonicity up to rounding (a rate change below an ulp may round either way).
    base = awareness_probability(share, phi, p, q) * (1 - 1e-12)
    assert awareness_probability(share, phi, p * factor, q) >= base
    assert awareness_probability(share, phi, p, q * factor) >= base
    assert awareness_probability(share, min(1.0, phi * factor), p, q) >= base
    assert awareness_probability(min(1.0, share * factor), phi, p, q) >= base


def test_strictly_monotone_interior():
    base = awareness_probability(0.3, 0.5, 0.01, 0.4)
    assert awareness_probability(0.3, 0.5, 0.02, 0.4) > base
    assert awareness_probability(0.3, 0.5, 0.01, 0.5) > base
    assert awareness_probability(0.3, 0.6, 0.01, 0.4) > base


def test_special_cases():
    # No innovation and nobody aware: nobody ever becomes aware.
    assert awareness_probability(0.0, 1.0, 0.0, 0.7) == 0.0
    np.testing.assert_array_equal(_iterate(np.zeros(1), np.ones(1), 0.0, 0.7, 24), 0.0)
    # No rates at all.
    assert awareness_probability(0.4, 0.5, 0.0, 0.0) == 0.0
    # No imitation: a constant hazard p.
    assert awareness_probability(0.4, 0.5, 0.03, 0.0) == pytest.approx(-np.expm1(-0.03))
    assert awareness_probability(0.4, 0.0, 0.03, 9.0) == pytest.approx(-np.expm1(-0.03))
    # Everyone aware: the limit at F = 1 is the hazard p + q*phi.
    assert awareness_probability(1.0, 0.5, 0.02, 0.4) == pytest.approx(-np.expm1(-0.22))
    # Huge rates: certainty, no overflow warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert awareness_probability(0.5, 1.0, 1e3, 1e3) == 1.0
        assert awareness_probability(0.0, 1.0, 1e-300, 1e-300) >= 0.0
        assert awareness_probability(0.0, 1.0, 0.0, 23.0, dt=31.0) == 0.0


def test_bad_inputs_refused():
    with pytest.raises(ValueError):
        awareness_probability(np.nan, 0.5, 0.01, 0.3)
    with pytest.raises(ValueError):
        awareness_probability(0.2, 1.5, 0.01, 0.3)
    with pytest.raises(ValueError):
        awareness_probability(0.2, 0.5, -0.01, 0.3)
    with pytest.raises(ValueError):
        awareness_probability(0.2, 0.5, 0.01, 0.3, dt=0.0)


def test_bass_closed_form_basics():
    t = np.linspace(0, 600, 61)
    f = bass_closed_form(t, P_MONTH, Q_MONTH)
    assert f[0] == 0.0 and np.all(np.diff(f) > 0) and f[-1] == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(bass_closed_form(t, 0.0, 0.5), 0.0)
    np.testing.assert_array_equal(bass_closed_form(t, 0.0, 0.0), 0.0)
    # With q = 0 it is the exponential distribution.
    np.testing.assert_allclose(bass_closed_form(t, 0.02, 0.0), -np.expm1(-0.02 * t))
    # Its derivative is the Bass ODE (checked before saturation, where differences are noise).
    t = np.linspace(1, 60, 60)
    h = 1e-5
    slope = (bass_closed_form(t + h, 0.01, 0.3) - bass_closed_form(t - h, 0.01, 0.3)) / (2 * h)
    ft = bass_closed_form(t, 0.01, 0.3)
    np.testing.assert_allclose(slope, (0.01 + 0.3 * ft) * (1 - ft), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(("p", "q"), [(P_MONTH, Q_MONTH), (0.01, 0.4), (0.002, 0.15)])
def test_peak_time_is_where_monthly_increment_peaks(p, q):
    t_star = bass_peak_time(p, q)
    assert t_star == pytest.approx(np.log(q / p) / (p + q))
    path = _iterate(np.zeros(1), np.ones(1), p, q, int(3 * t_star) + 12)[:, 0]
    peak_month = int(np.argmax(np.diff(path)))  # increment over [m, m + 1]
    assert abs(peak_month + 0.5 - t_star) <= 1.0
    # The peak of the adoption rate is where F = (q - p) / (2q).
    assert bass_closed_form(t_star, p, q) == pytest.approx((q - p) / (2 * q), rel=1e-12)


def test_peak_time_edge_cases():
    np.testing.assert_array_equal(bass_peak_time(np.array([0.3, 0.0]), np.array([0.1, 0.4])),
                                  [0.0, np.nan])
