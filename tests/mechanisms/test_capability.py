"""Analytic and property checks of sim.mechanisms.capability (MODEL.md 6.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.mechanisms import capability as cap

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")

R0 = 1.0e7
G = 0.5


def _two_lines(q_closed: float, q_open: float, worlds: int = 1):
    """World(s) with one closed leader (line 0) and one open line (line 1)."""
    q = np.tile([q_closed, q_open], (worlds, 1)).astype(float)
    is_open = np.tile([False, True], (worlds, 1))
    alive = np.ones_like(is_open)
    return q, is_open, alive


def _iterate(q, is_open, alive, budget, community, months, kappa_open, kappa_closed):
    path = [q[:, 0] - q[:, 1]]
    for _ in range(months):
        q = q + cap.capability_gain(q, is_open, alive, budget, R0, G, community,
                                    kappa_open, kappa_closed)
        path.append(q[:, 0] - q[:, 1])
    return q, np.array(path)


def test_one_step_matches_the_closed_form():
    q = np.array([[100.0, 90.0, 85.0, 80.0]])
    is_open = np.array([[False, True, False, True]])
    alive = np.array([[True, True, True, False]])
    budget = np.array([[3 * R0, R0, 0.0, 5 * R0]])
    community = np.array([[7.0, 0.2, 7.0, 0.2]])      # counts only for open alive lines
    ko, kc = 0.3, 0.1
    gain = cap.capability_gain(q, is_open, alive, budget, R0, G, community, ko, kc)
    best_open, best_closed = 90.0, 100.0              # line 3 is dead: not a source
    expected = [
        G * math.log(4.0),
        G * math.log(2.0) + 0.2 + kc * (best_closed - 90.0),
        0.0 + ko * (best_open - 85.0) + kc * (best_closed - 85.0),
        0.0,
    ]
    np.testing.assert_allclose(gain[0], expected, rtol=1e-13)


def test_no_open_line_means_no_floor_and_no_nan():
    q, is_open, alive = _two_lines(100.0, 90.0)
    is_open[:] = False
    gain = cap.capability_gain(q, is_open, alive, np.zeros((1, 2)), R0, G, None, 0.3, 0.1)
    np.testing.assert_allclose(gain, [[0.0, 1.0]])


@pytest.mark.parametrize("gap_start", [0.0, 2.0, 40.0])
def test_gap_converges_to_the_fixed_point_from_above_and_below(gap_start):
    budget = np.array([[9 * R0, 3 * R0]])
    community = np.array([[0.0, 0.1]])
    a = G * math.log(10.0)
    b = G * math.log(4.0) + 0.1
    kc = 0.1
    fixed = float(cap.steady_state_gap(a, b, kc, 0.3))
    assert fixed == pytest.approx((a - b) / kc)
    q, is_open, alive = _two_lines(100.0, 100.0 - gap_start)
    _, path = _iterate(q, is_open, alive, budget, community, 300, 0.3, kc)
    months = np.arange(len(path))
    np.testing.assert_allclose(path[:, 0], cap.gap_path(months, gap_start, a, b, kc),
                               rtol=1e-9, atol=1e-9)
    assert path[-1, 0] == pytest.approx(fixed, rel=1e-9)
    # monotone approach: the distance to the fixed point shrinks by (1 - kc) a month
    distance = np.abs(path[:, 0] - fixed)
    assert np.all(np.diff(distance) <= 1e-12)


def test_open_leader_settles_at_the_open_floor_fixed_point():
    budget = np.array([[R0, 9 * R0]])                 # the open line out-invests the closed one
    a, b = G * math.log(2.0), G * math.log(10.0)
    q, is_open, alive = _two_lines(100.0, 100.0)
    _, path = _iterate(q, is_open, alive, budget, None, 300, 0.3, 0.1)
    assert path[-1, 0] == pytest.approx((a - b) / 0.3, rel=1e-9)
    assert float(cap.steady_state_gap(a, b, 0.1, 0.3)) == pytest.approx((a - b) / 0.3)


def test_no_spillovers_and_equal_budgets_keep_the_gap():
    budget = np.array([[4 * R0, 4 * R0]])
    q, is_open, alive = _two_lines(100.0, 93.0)
    _, path = _iterate(q, is_open, alive, budget, None, 120, 0.0, 0.0)
    np.testing.assert_allclose(path[:, 0], 7.0, rtol=0, atol=1e-9)
    assert math.isnan(float(cap.steady_state_gap(1.0, 1.0, 0.0, 0.0)))
    assert float(cap.steady_state_gap(1.0, 0.5, 0.0, 0.3)) == math.inf


def test_steady_state_gap_months_formula():
    a, b, kc = 1.25, 0.875, 0.1
    assert float(cap.steady_state_gap_months(a, b, kc)) == pytest.approx((1 - b / a) / kc)


def test_documented_baseline_arithmetic():
    """The doc's worked example: leader at 9 R0, best open line at R_L/3 plus g_c = 0.125."""
    a = cap.RD_PRODUCTIVITY * math.log1p(9.0)
    assert a == pytest.approx(cap.ECI_PACE_AFTER_2024_04)
    b = cap.RD_PRODUCTIVITY * math.log1p(3.0) + 0.125
    months = float(cap.steady_state_gap_months(a, b, cap.KAPPA_CLOSED, cap.KAPPA_OPEN))
    assert months == pytest.approx((1 - b / a) / cap.KAPPA_CLOSED)
    assert 2.0 < months < 4.0                          # "a few months", as the doc derives
    assert float(cap.gap_half_life_months(cap.KAPPA_CLOSED)) == pytest.approx(
        math.log(2) / -math.log(1 - cap.KAPPA_CLOSED))


finite = st.floats(min_value=0.0, max_value=200.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    q=arrays(np.float64, (3, 5), elements=finite),
    budget=arrays(np.float64, (3, 5), elements=st.floats(0.0, 1e9)),
    is_open=arrays(np.bool_, (3, 5)),
    alive=arrays(np.bool_, (3, 5)),
    kappa_open=st.floats(0.0, 0.9),
    kappa_closed=st.floats(0.0, 0.1),
)
def test_floor_limits_how_far_below_the_best_open_model_a_laggard_stays(
        q, budget, is_open, alive, kappa_open, kappa_closed):
    new = q + cap.capability_gain(q, is_open, alive, budget, R0, G, None, kappa_open,
                                  kappa_closed)
    source = is_open & alive
    best_open = np.where(source.any(axis=1), np.max(q, axis=1, where=source, initial=-np.inf),
                         np.nan)[:, None]
    below = alive & (q < best_open)
    allowed = (1.0 - kappa_open) * (best_open - q)
    assert np.all((best_open - new)[below] <= allowed[below] + 1e-9)
    assert np.all(new[~alive] == q[~alive])           # dead lines do not move
    assert np.all(new[alive] >= q[alive])             # nobody loses capability


@settings(max_examples=100, deadline=None)
@given(
    q=arrays(np.float64, (2, 4), elements=finite),
    budget=arrays(np.float64, (2, 4), elements=st.floats(0.0, 1e9)),
    is_open=arrays(np.bool_, (2, 4)),
    extra=st.floats(1.0, 1e9),
    line=st.integers(0, 3),
    months=st.integers(1, 24),
    kappa_open=st.floats(0.0, 0.8),
    kappa_closed=st.floats(0.0, 0.2),
    r_abs=st.sampled_from([0.0, 1e6, 1e8]),
)
def test_more_rd_never_lowers_any_capability(q, budget, is_open, extra, line, months,
                                             kappa_open, kappa_closed, r_abs):
    alive = np.ones_like(is_open)
    owner = np.tile(np.arange(4), (2, 1))  # one line a firm: its budget is the firm's
    richer = budget.copy()
    richer[:, line] += extra
    q_base, q_rich = q.copy(), q.copy()
    for _ in range(months):
        q_base = q_base + cap.capability_gain(
            q_base, is_open, alive, budget, R0, G, None, kappa_open, kappa_closed,
            absorption=cap.absorptive_capacity(budget, owner, r_abs))
        q_rich = q_rich + cap.capability_gain(
            q_rich, is_open, alive, richer, R0, G, None, kappa_open, kappa_closed,
            absorption=cap.absorptive_capacity(richer, owner, r_abs))
    assert np.all(q_rich >= q_base - 1e-9 * np.maximum(1.0, np.abs(q_base)))
    assert np.all(q_rich[:, line] > q_base[:, line])


def test_absorptive_capacity_is_r_over_r_plus_r_abs_of_the_owner():
    firm_rd = np.array([[0.0, 3e6, 3e8]])
    owner = np.array([[0, 1, 2, 2]])
    share = cap.absorptive_capacity(firm_rd, owner, 3e6)
    np.testing.assert_allclose(share, [[0.0, 0.5, 100 / 101, 100 / 101]])
    np.testing.assert_array_equal(cap.absorptive_capacity(firm_rd, owner, 0.0), 1.0)
    with pytest.raises(ValueError):
        cap.absorptive_capacity(firm_rd, owner, -1.0)
    # a lab that spends nothing learns nothing from the best open and closed models
    q = np.array([[80.0, 100.0, 95.0]])
    is_open = np.array([[False, False, True]])
    alive = np.ones((1, 3), bool)
    none = cap.capability_gain(q, is_open, alive, np.array([[0.0, 1e8, 1e8]]), R0, G, None,
                               0.2, 0.1, absorption=np.array([[0.0, 1.0, 1.0]]))
    assert none[0, 0] == 0.0
    full = cap.capability_gain(q, is_open, alive, np.array([[0.0, 1e8, 1e8]]), R0, G, None,
                               0.2, 0.1)
    assert full[0, 0] == pytest.approx(0.2 * 15 + 0.1 * 20)


def test_kappas_that_could_overshoot_are_refused():
    q, is_open, alive = _two_lines(100.0, 90.0)
    with pytest.raises(ValueError):
        cap.capability_gain(q, is_open, alive, np.zeros((1, 2)), R0, G, None, 0.8, 0.3)


@settings(max_examples=100, deadline=None)
@given(
    pace=st.floats(0.1, 3.0),
    start=st.floats(0.0, 150.0),
    t=st.integers(1, 60),
    fraction=st.floats(0.0, 1.0),
)
def test_gap_months_on_a_linear_frontier_is_gap_over_pace(pace, start, t, fraction):
    history = (start + pace * np.arange(t + 10, dtype=float))[None, :]
    gap = fraction * pace * t                         # within the history
    open_now = history[0, t] - gap
    months = cap.gap_months(history, np.array([open_now]), t)
    assert months[0] == pytest.approx(gap / pace, rel=1e-9, abs=1e-9)
    # beyond the start of the history: extrapolated at the given pace
    deep = history[0, t] - 3.0 * pace * t
    months = cap.gap_months(history, np.array([deep]), t, pace_before_history=pace)
    assert months[0] == pytest.approx(3.0 * t, rel=1e-9)


def test_gap_months_edge_cases_and_running_maximum():
    history = np.array([[100.0, 101.0, 105.0, 103.0, 104.0]])   # the frontier dipped (an exit)
    assert cap.gap_months(history, np.array([106.0]), 4)[0] == 0.0   # open leads
    assert math.isnan(cap.gap_months(history, np.array([np.nan]), 4)[0])
    # running max is 105 from month 2: level 103 was first reached at 1.5
    assert cap.gap_months(history, np.array([103.0]), 4)[0] == pytest.approx(2.5)
    # at t = 0 only the extrapolation applies
    assert cap.gap_months(history, np.array([99.0]), 0, 0.5)[0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        cap.gap_months(history, np.array([100.0]), 5)


def test_rd_scale_trend_and_constant_pace_budget():
    assert float(cap.rd_scale(12, 1.0, 1.4, 3.5)) == pytest.approx(3.5 / 1.4)
    growth = float(cap.constant_pace_budget_growth(1.4, 3.5))
    months = np.arange(0, 85)
    ratio = (9 * R0 * growth ** (months / 12)) / cap.rd_scale(months, R0, 1.4, 3.5)
    np.testing.assert_allclose(ratio, 9.0, rtol=1e-12)
    per_world = cap.rd_scale(6, np.array([1.0, 2.0]), np.array([1.4, 2.0]), 4.0)
    np.testing.assert_allclose(per_world, [(4 / 1.4) ** 0.5, 2.0 * 2.0 ** 0.5])


def test_budget_split_and_flagship_weights():
    q = np.array([[100.0, 90.0, 95.0, 80.0, 70.0]])
    owner = np.array([[0, 0, 0, 1, 2]])
    alive = np.array([[True, True, True, True, False]])
    w = cap.flagship_weights(q, owner, alive, 3, 0.8)
    np.testing.assert_allclose(w, [[0.8, 0.1, 0.1, 1.0, 0.0]])
    firm_budget = np.array([[10.0, 4.0, 7.0]])
    line_budget = cap.split_rd_budget(firm_budget, owner, alive, w)
    np.testing.assert_allclose(line_budget, [[8.0, 1.0, 1.0, 4.0, 0.0]])
    equal = cap.split_rd_budget(firm_budget, owner, alive)
    np.testing.assert_allclose(equal, [[10 / 3, 10 / 3, 10 / 3, 4.0, 0.0]])


def test_frontiers():
    q = np.array([[100.0, 90.0, 95.0], [80.0, 85.0, 99.0]])
    is_open = np.array([[False, True, True], [False, False, False]])
    alive = np.array([[True, True, False], [True, True, True]])
    closed, open_ = cap.frontiers(q, is_open, alive)
    np.testing.assert_array_equal(closed, [100.0, 99.0])
    assert open_[0] == 90.0 and math.isnan(open_[1])


def test_batched_worlds_equal_each_world_alone():
    rng = np.random.default_rng(3)
    w, k, f = 6, 7, 3
    q = rng.uniform(80, 120, (w, k))
    is_open = rng.random((w, k)) < 0.4
    alive = rng.random((w, k)) < 0.9
    owner = rng.integers(0, f, (w, k))
    firm_budget = rng.uniform(0, 1e9, (w, f))
    community = rng.uniform(0, 0.3, (w, k))
    kappa_open = rng.uniform(0, 0.5, w)
    scale = rng.uniform(1e6, 1e8, w)
    weights = cap.flagship_weights(q, owner, alive, f, 0.8)
    budget = cap.split_rd_budget(firm_budget, owner, alive, weights)
    gain = cap.capability_gain(q, is_open, alive, budget, scale, G, community, kappa_open, 0.1)
    history = np.cumsum(rng.uniform(0, 2, (w, 30)), axis=1)
    level = history[:, 20] - rng.uniform(0, 15, w)
    months = cap.gap_months(history, level, 20)
    for i in range(w):
        one = slice(i, i + 1)
        wi = cap.flagship_weights(q[one], owner[one], alive[one], f, 0.8)
        bi = cap.split_rd_budget(firm_budget[one], owner[one], alive[one], wi)
        gi = cap.capability_gain(q[one], is_open[one], alive[one], bi, scale[one], G,
                                 community[one], kappa_open[one], 0.1)
        assert np.array_equal(wi, weights[one]) and np.array_equal(bi, budget[one])
        assert np.array_equal(gi, gain[one])
        assert np.array_equal(cap.gap_months(history[one], level[one], 20), months[one],
                              equal_nan=True)
