"""Analytic checks of the harm mechanism (MODEL.md 7, check 9)."""

import math

import numpy as np
import pytest

from sim.mechanisms.harm import (
    PRIORS,
    HarmParameters,
    harm_components,
    harm_usd,
    hazard_per_million_tokens,
    sample_priors,
)

# products: 0 open q=110, 1 closed q=110 (equal capability), 2 closed q=95, 3 open q=120
CAPABILITY = np.array([[110.0, 110.0, 95.0, 120.0]] * 2)
IS_OPEN = np.array([[True, False, False, True]] * 2)
EXPOSURE = np.array([0.5, 0.3, 0.2])


def _usage(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 1e6, size=(2, 3, 4))  # [W, R, K]


def _hazard(q: float, params: HarmParameters) -> float:
    return params.hazard_scale * math.exp(params.hazard_capability_slope * (q - 100.0))


def test_hazard_doubles_with_a_year_of_frontier_progress_by_default():
    params = HarmParameters()
    hazard = hazard_per_million_tokens(np.array([[100.0, 115.0]]), params)
    np.testing.assert_allclose(hazard, [[params.hazard_scale, 2.0 * params.hazard_scale]])


def test_equal_hazards_moving_usage_between_open_and_closed_leaves_harm_unchanged():
    params = HarmParameters(misuse_premium=0.0, leakage=0.0, openness_discount=0.0)
    usage = _usage()
    moved = usage.copy()
    moved[:, 1, 0] -= 4e5  # region 1: from the open product ...
    moved[:, 1, 1] += 4e5  # ... to the closed one of equal capability
    before = harm_usd(harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params), 0.0)
    after = harm_usd(harm_components(moved, CAPABILITY, IS_OPEN, EXPOSURE, params), 0.0)
    np.testing.assert_allclose(after, before, rtol=1e-13)
    # harm depends only on usage and capability: sum_k usage_k h(q_k)
    hazards = np.array([_hazard(q, params) for q in CAPABILITY[0]])
    np.testing.assert_allclose(before, usage @ hazards, rtol=1e-13)


def test_the_same_move_changes_harm_by_the_premium_when_it_is_positive():
    params = HarmParameters(leakage=0.0, openness_discount=0.0)
    usage = _usage()
    moved = usage.copy()
    moved[:, 1, 0] -= 4e5
    moved[:, 1, 1] += 4e5
    m = 2.5
    before = harm_usd(harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params), m)
    after = harm_usd(harm_components(moved, CAPABILITY, IS_OPEN, EXPOSURE, params), m)
    expected_fall = m * 4e5 * _hazard(110.0, params)
    np.testing.assert_allclose(before[:, 1] - after[:, 1], expected_fall, rtol=1e-9)
    np.testing.assert_allclose(after[:, [0, 2]], before[:, [0, 2]], rtol=1e-13)


def test_harm_is_affine_in_one_plus_premium_with_the_open_part_as_slope():
    params = HarmParameters(openness_discount=0.3, leakage=0.4)
    usage = _usage(1)
    parts = harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params)
    hazards = np.array([_hazard(q, params) for q in CAPABILITY[0]])
    world_open = (usage * (hazards * IS_OPEN[0])).sum(axis=(1, 2))
    for m in (0.0, 1.0, 7.0, 100.0):
        world_harm = harm_usd(parts, m).sum(axis=1)
        closed = (usage * (hazards * ~IS_OPEN[0])).sum(axis=(1, 2))
        np.testing.assert_allclose(world_harm, closed + (1 + m) * 0.7 * world_open, rtol=1e-12)


def test_premium_per_world_broadcasts_over_regions():
    params = HarmParameters()
    parts = harm_components(_usage(), CAPABILITY, IS_OPEN, EXPOSURE, params)
    per_world = harm_usd(parts, np.array([0.0, 3.0]))
    np.testing.assert_allclose(per_world[0], harm_usd(parts, 0.0)[0])
    np.testing.assert_allclose(per_world[1], harm_usd(parts, 3.0)[1])


@pytest.mark.parametrize("leakage", [0.0, 0.3, 1.0])
def test_regions_harm_sums_to_the_worlds_harm_whatever_the_leakage(leakage):
    params = HarmParameters(leakage=leakage, openness_discount=0.2)
    usage = _usage(2)
    harm = harm_usd(harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params), 4.0)
    hazards = np.array([_hazard(q, params) for q in CAPABILITY[0]])
    factor = np.where(IS_OPEN[0], 5.0 * 0.8, 1.0)  # (1 + m)(1 - delta) for open
    np.testing.assert_allclose(harm.sum(axis=1), (usage * hazards * factor).sum(axis=(1, 2)))


def test_full_leakage_makes_open_harm_independent_of_where_usage_is():
    params = HarmParameters(leakage=1.0)
    usage = _usage(3)
    shuffled = usage.copy()
    shuffled[:, :, 0] = usage[:, ::-1, 0]  # same world total of open product 0, other regions
    parts = harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params)
    parts_shuffled = harm_components(shuffled, CAPABILITY, IS_OPEN, EXPOSURE, params)
    np.testing.assert_allclose(parts_shuffled.open_before_premium, parts.open_before_premium)
    np.testing.assert_array_equal(parts.open_local, 0.0)


def test_full_leakage_ban_cuts_a_regions_open_harm_by_its_exposure_share_of_the_fall():
    params = HarmParameters(leakage=1.0, openness_discount=0.0)
    usage = _usage(4)
    banned = usage.copy()
    banned[:, 0, IS_OPEN[0]] = 0.0  # region 0 bans open weights, fully enforced
    before = harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params)
    after = harm_components(banned, CAPABILITY, IS_OPEN, EXPOSURE, params)
    hazards = np.array([_hazard(q, params) for q in CAPABILITY[0]])
    global_fall = (usage[:, 0] * hazards * IS_OPEN[0]).sum(axis=-1)  # [W]
    fall = before.open_before_premium - after.open_before_premium
    np.testing.assert_allclose(fall, global_fall[:, None] * EXPOSURE[None, :])
    assert np.all(fall[:, 0] < global_fall)  # less than the usage it removed


def test_no_leakage_keeps_open_harm_in_the_region_of_use():
    params = HarmParameters(leakage=0.0)
    usage = _usage(5)
    banned = usage.copy()
    banned[:, 0, IS_OPEN[0]] = 0.0
    before = harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params)
    after = harm_components(banned, CAPABILITY, IS_OPEN, EXPOSURE, params)
    np.testing.assert_array_equal(after.open_before_premium[:, 0], 0.0)
    np.testing.assert_allclose(after.open_before_premium[:, 1:], before.open_before_premium[:, 1:])


def test_segment_axis_is_linear_in_usage():
    params = HarmParameters()
    usage = np.random.default_rng(6).uniform(0, 1e5, size=(2, 3, 2, 4))  # [W, R, S, K]
    by_segment = harm_usd(harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params), 1.5)
    pooled_parts = harm_components(usage.sum(axis=2), CAPABILITY, IS_OPEN, EXPOSURE, params)
    pooled = harm_usd(pooled_parts, 1.5)
    assert by_segment.shape == (2, 3, 2)
    np.testing.assert_allclose(by_segment.sum(axis=2), pooled)


def test_world_varying_parameters_take_a_world_axis():
    params = HarmParameters(hazard_scale=np.array([1.0, 3.0]), leakage=np.array([0.0, 1.0]))
    usage = np.broadcast_to(_usage()[:1], (2, 3, 4))
    parts = harm_components(usage, CAPABILITY, IS_OPEN, EXPOSURE, params)
    np.testing.assert_allclose(parts.closed[1], 3.0 * parts.closed[0])
    np.testing.assert_array_equal(parts.open_leaked[0], 0.0)


def test_exposure_must_be_a_distribution_over_regions():
    with pytest.raises(ValueError, match="exposure"):
        harm_components(_usage(), CAPABILITY, IS_OPEN, np.array([0.5, 0.3, 0.3]), HarmParameters())


@pytest.mark.parametrize(
    "field,value",
    [("misuse_premium", -0.1), ("misuse_premium", 101.0), ("leakage", 1.5),
     ("openness_discount", 1.0), ("hazard_scale", -1.0), ("hazard_capability_slope", np.nan)],
)
def test_parameters_out_of_range_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        HarmParameters(**{field: value})


def test_every_uncertain_parameter_has_a_prior_that_contains_its_default():
    defaults = HarmParameters()
    names = {prior.name for prior in PRIORS}
    assert names == {
        "misuse_premium", "leakage", "openness_discount", "hazard_scale", "hazard_capability_slope"
    }
    for prior in PRIORS:
        assert prior.low <= getattr(defaults, prior.name) <= prior.high
        assert prior.source
    misuse = next(p for p in PRIORS if p.name == "misuse_premium")
    assert (misuse.low, misuse.high) == (0.0, 100.0)  # INTERFACES.md schema range, includes 0


def test_prior_draws_respect_bounds_and_put_mass_at_zero_premium():
    draws = sample_priors(np.random.default_rng(11), 20_000)
    for prior in PRIORS:
        assert np.all((draws[prior.name] >= prior.low) & (draws[prior.name] <= prior.high))
    share_zero = np.mean(draws["misuse_premium"] == 0.0)
    assert abs(share_zero - 0.25) < 0.02  # ~6 standard errors
    positive = draws["misuse_premium"][draws["misuse_premium"] > 0]
    # log-uniform on [0.01, 100]: the median of the positive part is 1
    assert abs(np.log10(np.median(positive))) < 0.1
    HarmParameters(**draws)  # every draw is an admissible parameter set
