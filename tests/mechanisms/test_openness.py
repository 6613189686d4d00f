"""The openness decision's arithmetic (sim.mechanisms.openness): analytic values and properties."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.mechanisms import openness as opn

values = st.floats(-1e12, 1e12, allow_nan=False)


def test_generation_probability_is_the_poisson_hazard() -> None:
    assert float(opn.generation_probability(12.0)) == -math.expm1(-1.0 / 12.0)
    months = np.array([1.0, 6.0, 12.0, 36.0])
    p = opn.generation_probability(months)
    assert np.all(np.diff(p) < 0)  # longer generations arrive less often
    # over a mean interval of m months, one generation is expected: m * hazard ~ 1 for large m
    assert abs(36.0 * -math.log1p(-p[-1]) - 1.0) < 1e-12


def test_generation_value_charges_the_switching_cost_only_on_a_change() -> None:
    v = opn.generation_value(np.array([10.0, 10.0]), 12.0, np.array([False, True]), 50.0)
    assert v.tolist() == [120.0, 70.0]


def test_open_probability_analytic_value() -> None:
    # V_open - V_closed = 25, scale = 0.25 * (100 + 75): the logistic of 25 / 43.75
    p = opn.open_probability(100.0, 75.0, 0.25)
    assert abs(float(p) - 1.0 / (1.0 + math.exp(-25.0 / 43.75))) < 1e-12
    # an explicit stake: scale 0.25 * 100 = 25, the logistic of 1
    p = opn.open_probability(100.0, 75.0, 0.25, scale_of=np.array(100.0))
    assert abs(float(p) - 1.0 / (1.0 + math.exp(-1.0))) < 1e-12


def test_zero_noise_is_the_argmax_and_a_tie_is_a_coin() -> None:
    p = opn.open_probability(np.array([2.0, 1.0, 1.0]), np.array([1.0, 2.0, 1.0]), 0.0)
    assert p.tolist() == [1.0, 0.0, 0.5]


def test_the_stake_sets_the_scale() -> None:
    # the same difference decides more when less is at stake
    small = opn.open_probability(1e9 + 1e6, 1e9, 0.25, scale_of=np.array(4e6))
    large = opn.open_probability(1e9 + 1e6, 1e9, 0.25)
    assert float(small) > 0.7 > 0.5 > float(large) - 0.01


@given(values, values, st.floats(0.0, 10.0))
def test_open_probability_is_a_probability_and_symmetric(a: float, b: float, noise: float
                                                         ) -> None:
    p = float(opn.open_probability(a, b, noise))
    q = float(opn.open_probability(b, a, noise))
    assert 0.0 <= p <= 1.0
    assert abs(p + q - 1.0) < 1e-9


@given(values, values, st.floats(1e-3, 10.0), st.floats(1.0, 1e9))
def test_open_probability_rises_with_the_open_value(a: float, b: float, noise: float,
                                                    bump: float) -> None:
    assert float(opn.open_probability(a + bump, b, noise)) >= float(
        opn.open_probability(a, b, noise)) - 1e-12


def test_choose_open_uses_the_uniform() -> None:
    assert opn.choose_open(np.array([0.1, 0.9]), np.array([0.5, 0.5])).tolist() == [True, False]
