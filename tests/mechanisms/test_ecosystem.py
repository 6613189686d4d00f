"""Analytic and property checks of sim.mechanisms.ecosystem (MODEL.md 6.4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from sim.mechanisms import ecosystem as eco

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


def _world(seed: int = 0, worlds: int = 4, regions: int = 3, families: int = 5,
           communities: int = 200):
    rng = np.random.default_rng(seed)
    return dict(
        capability=rng.uniform(80, 120, (worlds, families)),
        size=rng.uniform(0, 1e5, (worlds, families)),
        licence=rng.uniform(0, 1, families),
        family_open=rng.random((worlds, families)) < 0.7,
        allowed=rng.random((worlds, regions, families)) < 0.8,
        region=rng.integers(0, regions, communities),
        developers=10.0 * (1.0 + rng.pareto(1.3, communities)),
        family=rng.integers(-1, families, (worlds, communities)),
        friction=rng.uniform(0, 0.3, (worlds, regions)),
        outside=rng.normal(5.0, 2.0, (worlds, regions)),
        u_move=rng.random((worlds, communities)),
        u_pick=rng.random((worlds, communities)),
        legal=rng.uniform(0, 1, (regions, families)),
        productivity=rng.uniform(0.5, 2.0, worlds),
    )


def test_productivity_zero_switches_communities_off():
    d = _world()
    effort, by_region = eco.family_effort(d["family"], d["region"], d["developers"], 0.0,
                                          d["friction"], d["family_open"], d["allowed"])
    assert np.all(effort == 0.0) and np.all(by_region == 0.0)
    assert np.all(eco.community_gain(effort, 0.125, 2e4, 0.0) == 0.0)   # even with theta = 0
    size = np.zeros_like(effort)
    for _ in range(50):
        size = eco.ecosystem_size_step(size, effort)
    assert np.all(size == 0.0)


def test_effort_matches_a_direct_sum():
    d = _world(worlds=2, communities=30)
    effort, by_region = eco.family_effort(d["family"], d["region"], d["developers"],
                                          d["productivity"], d["friction"], d["family_open"],
                                          d["allowed"])
    expected = np.zeros_like(by_region)
    for w in range(2):
        for c in range(30):
            k, r = d["family"][w, c], d["region"][c]
            if k >= 0 and d["family_open"][w, k] and d["allowed"][w, r, k]:
                expected[w, r, k] += (d["developers"][c] * d["productivity"][w]
                                      * (1 - d["friction"][w, r]))
    np.testing.assert_allclose(by_region, expected, rtol=1e-12)
    np.testing.assert_array_equal(effort, by_region.sum(axis=1))


def test_a_contributor_ban_removes_the_regions_effort_and_forces_a_move():
    family = np.array([[0, 0, 1, 1]])
    region = np.array([0, 1, 0, 1])
    is_open = np.ones((1, 2), dtype=bool)
    allowed = np.ones((1, 2, 2), dtype=bool)
    allowed[0, 1, :] = False                          # region 1 bans contributing to both
    effort, by_region = eco.family_effort(family, region, np.ones(4), 1.0, np.zeros(2),
                                          is_open, allowed)
    np.testing.assert_array_equal(by_region[0, 1], [0.0, 0.0])
    np.testing.assert_array_equal(effort, [[1.0, 1.0]])
    inside = eco.choice_utilities(np.array([[100.0, 90.0]]), np.zeros((1, 2)), np.zeros(2),
                                  is_open, allowed)
    moved = eco.choose_families(family, region, np.full((1, 4), 0.99), np.full((1, 4), 0.5),
                                inside, np.zeros((1, 2)), reconsider_rate=0.1)
    np.testing.assert_array_equal(moved[0, [1, 3]], [eco.NO_FAMILY, eco.NO_FAMILY])
    np.testing.assert_array_equal(moved[0, [0, 2]], [0, 1])   # region 0 stays (u > mu)


@pytest.mark.parametrize("delta", [0.02, eco.DERIVATIVE_DECAY, 0.5, 1.0])
def test_ecosystem_converges_to_rho_e_over_delta(delta):
    effort = np.array([[2e4, 5e3, 0.0], [1e3, 0.0, 7e4]])
    rho = np.array([0.5, 0.1, 2.0])                   # per family
    fixed = eco.steady_state_ecosystem_size(effort, rho, delta)
    np.testing.assert_allclose(fixed, rho * effort / delta)
    for start in (np.zeros_like(effort), 3.0 * fixed + 10.0):
        size = start.copy()
        for t in range(1, 61):
            size = eco.ecosystem_size_step(size, effort, rho, delta)
            np.testing.assert_allclose(size, fixed + (1 - delta) ** t * (start - fixed),
                                       rtol=1e-10, atol=1e-6)
        for _ in range(3000):
            size = eco.ecosystem_size_step(size, effort, rho, delta)
        np.testing.assert_allclose(size, fixed, rtol=1e-9, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    effort=arrays(np.float64, (2, 4), elements=st.floats(0.0, 1e6)),
    extra=st.floats(1.0, 1e6),
    line=st.integers(0, 3),
    theta=st.one_of(st.just(0.0), st.floats(0.05, 1.0)),
)
def test_more_effort_raises_capability_gain_and_ecosystem(effort, extra, line, theta):
    more = effort.copy()
    more[:, line] += extra
    gain, gain_more = (eco.community_gain(e, 0.125, 2e4, theta) for e in (effort, more))
    assert np.all(gain_more >= gain)
    if theta > 0:
        assert np.all(gain_more[:, line] > gain[:, line])
    size = np.full_like(effort, 100.0)
    grown = eco.ecosystem_size_step(size, effort)
    grown_more = eco.ecosystem_size_step(size, more)
    assert np.all(grown_more >= grown) and np.all(grown_more[:, line] > grown[:, line])


def test_community_gain_closed_form():
    gain = eco.community_gain(np.array([[2e4, 8e4, 0.0]]), 0.125, 2e4, 0.5)
    np.testing.assert_allclose(gain, [[0.125, 0.25, 0.0]])


def test_logit_choice_frequencies_match_probabilities():
    rng = np.random.default_rng(20240101)
    n = 40_000
    capability = np.array([[100.0, 95.0, 90.0, 99.0]])
    size = np.array([[1e4, 1e5, 0.0, 5e3]])
    licence = np.array([0.5, 0.1, 0.0, 0.2])
    is_open = np.array([[True, True, True, False]])   # family 3 is closed: never chosen
    allowed = np.ones((1, 1, 4), dtype=bool)
    inside = eco.choice_utilities(capability, size, licence, is_open, allowed)
    outside = np.array([[float(eco.CAPABILITY_WEIGHT * 100.0 + 3.0)]])
    probs = eco.choice_probabilities(inside, outside)[0, 0]
    v = np.array([outside[0, 0], *inside[0, 0, :3]])
    np.testing.assert_allclose(probs[:4], np.exp(v) / np.exp(v).sum(), rtol=1e-12)
    assert probs[4] == 0.0
    chosen = eco.choose_families(np.full((1, n), eco.NO_FAMILY), np.zeros(n, dtype=int),
                                 np.zeros((1, n)), rng.random((1, n)), inside, outside, 1.0)
    counts = np.bincount(chosen[0] + 1, minlength=5)
    assert counts[4] == 0
    result = stats.chisquare(counts[:4], n * probs[:4])
    assert result.pvalue > 1e-3


def test_outside_utility_engages_the_given_share():
    d = _world()
    inside = eco.choice_utilities(d["capability"], d["size"], d["licence"], d["family_open"],
                                  d["allowed"])
    outside = eco.outside_utility_for_engaged_share(inside, 0.3)
    probs = eco.choice_probabilities(inside, outside)
    has_option = np.isfinite(inside).any(axis=-1)
    np.testing.assert_allclose(probs[..., 1:].sum(axis=-1)[has_option], 0.3, rtol=1e-10)
    none_available = np.zeros((1, 1, 2)) - np.inf
    assert eco.outside_utility_for_engaged_share(none_available, 0.5)[0, 0] == 0.0


def test_legal_risk_lowers_a_regions_utility():
    capability = np.array([[100.0, 100.0]])
    base = eco.choice_utilities(capability, np.zeros((1, 2)), np.zeros(2),
                                np.ones((1, 2), bool), np.ones((2, 2), bool))
    risk = np.array([[0.0, 0.0], [0.0, 0.8]])
    risky = eco.choice_utilities(capability, np.zeros((1, 2)), np.zeros(2),
                                 np.ones((1, 2), bool), np.ones((2, 2), bool), legal_risk=risk,
                                 legal_risk_weight=2.0)
    np.testing.assert_allclose(base - risky, [[[0.0, 0.0], [0.0, 1.6]]])


def test_batched_worlds_equal_each_world_alone():
    d = _world(seed=7, worlds=5, communities=500)
    a_q = np.linspace(0.05, 0.2, 5)

    def run(s):
        inside = eco.choice_utilities(d["capability"][s], d["size"][s], d["licence"],
                                      d["family_open"][s], d["allowed"][s], a_q[s],
                                      legal_risk=d["legal"])
        probs = eco.choice_probabilities(inside, d["outside"][s])
        family = eco.choose_families(d["family"][s], d["region"], d["u_move"][s],
                                     d["u_pick"][s], inside, d["outside"][s], 0.3)
        effort, by_region = eco.family_effort(family, d["region"], d["developers"],
                                              d["productivity"][s], d["friction"][s],
                                              d["family_open"][s], d["allowed"][s])
        size = eco.ecosystem_size_step(d["size"][s], effort)
        gain = eco.community_gain(effort)
        return inside, probs, family, effort, by_region, size, gain

    together = run(slice(None))
    for w in range(5):
        alone = run(slice(w, w + 1))
        for a, b in zip(alone, together, strict=True):
            assert np.array_equal(a, b[w:w + 1])


def test_unavailable_families_are_never_chosen():
    d = _world(seed=11, worlds=3, communities=2000)
    inside = eco.choice_utilities(d["capability"], d["size"], d["licence"], d["family_open"],
                                  d["allowed"])
    family = eco.choose_families(d["family"], d["region"], d["u_move"], d["u_pick"], inside,
                                 d["outside"], 1.0)
    w = np.arange(3)[:, None]
    engaged = family >= 0
    available = np.isfinite(inside[w, d["region"][None, :], np.maximum(family, 0)])
    assert np.all(available[engaged])


def test_ecosystem_utility_shape_and_value():
    util = eco.ecosystem_utility(np.array([[0.0, math.e - 1.0]]), np.array([0.2, 0.5, 0.0]))
    assert util.shape == (1, 3, 2)
    np.testing.assert_allclose(util[0], [[0.0, 0.2], [0.0, 0.5], [0.0, 0.0]])


@settings(max_examples=50, deadline=None)
@given(elasticity=st.floats(-2.0, 2.0), scale=st.floats(0.01, 0.5), h=st.floats(0.01, 0.3))
def test_arc_elasticity_recovers_a_power_law(elasticity, scale, h):
    p_lo, p_hi = 1.0 - h, 1.0 + h
    share = [scale * p ** elasticity for p in (p_lo, p_hi)]
    got = eco.open_share_elasticity(share[0], share[1], p_lo, p_hi)
    assert float(got) == pytest.approx(elasticity, rel=1e-9, abs=1e-9)


def test_elasticity_nan_for_empty_shares_and_benchmark_formula():
    assert math.isnan(float(eco.open_share_elasticity(0.0, 0.1, 0.9, 1.1)))
    bench = eco.open_share_elasticity_steady_state(0.2, 0.1, 0.3, 0.125, 0.5, 0.1)
    assert float(bench) == pytest.approx(0.8 * (0.1 + 0.3 * 0.5 * 0.125 / 0.1))


def test_calibration_constants_reproduce_qwen():
    d_star = eco.steady_state_ecosystem_size(np.array([[eco.EFFORT_SCALE]]))
    assert float(d_star[0, 0]) == pytest.approx(113_000.0)
