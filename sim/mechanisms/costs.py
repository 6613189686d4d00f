"""Serving cost of product lines relative to the capability frontier (MODEL.md 5).

The cost of serving a million tokens of product ``k`` in month ``t`` is

    c_k(t) = c_F(t) * size_k * exp(-gamma * (q_F(t) - q_k)),

with ``c_F(t) = c_F0 * f^(-t/12)`` the cost of serving the frontier model (it falls ``f`` x a
year), ``size_k`` a serving-cost factor (1 for a frontier-sized model), ``q_F(t)`` the frontier
capability and ``gamma`` the log-cost per point of capability below the frontier.

Two annual price declines follow at constant markups (docs/mechanisms/pricing.md):

* the flagship, which sits at the frontier (``q_k = q_F``), gets cheaper by ``f`` x a year;
* a fixed capability ``q`` falls behind a frontier that gains ``g`` points a year, so its cost
  falls by ``f * exp(gamma * g)`` x a year.

Calibration targets (CALIBRATION.md, fit window): flagship list prices fall ~1.5-4x a year
(vendors' pricing pages: GPT-4 Turbo 10/30 -> GPT-4o 2.50/10, 2024-01 -> 2025-05; MODEL.md 1
says ~2-3x); the price at constant capability falls ~10-40x a year (a16z LLMflation ~10x/yr;
Epoch AI 9-900x/yr by threshold, 40x for GPT-4 level); the frontier gains ~15 ECI points a
year after 2024-04 (Epoch AI). ``gamma_for_declines`` inverts the second relation for
calibration. Capability is in ECI points, costs in USD per million tokens, time in months.
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray | float

__all__ = [
    "constant_capability_decline",
    "flagship_decline",
    "frontier_cost",
    "gamma_for_declines",
    "serving_cost",
]


def _world_column(values: ArrayLike, name: str) -> np.ndarray:
    """Shape a scalar or ``[W]`` world parameter as ``[W or 1, 1]`` for ``[W, K]`` arithmetic."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim > 1:
        raise ValueError(f"{name} must be a scalar or have shape [W], got {array.shape}")
    return array.reshape(-1, 1)


def frontier_cost(month: ArrayLike, c_F0: ArrayLike, fall_per_year: ArrayLike) -> np.ndarray:
    """Serving cost of the frontier model: ``c_F(t) = c_F0 * fall_per_year^(-t / 12)``.

    Args:
        month: Months since step 0 (scalar or any shape that broadcasts with the others).
        c_F0: Frontier serving cost at step 0, USD per M tokens (> 0); scalar or ``[W]``.
        fall_per_year: ``f`` (> 0): the factor by which the frontier's cost falls in a year
            (2 means it halves); scalar or ``[W]``.

    Returns:
        USD per M tokens, the broadcast shape of the inputs (``[W]`` for ``[W]`` parameters).
    """
    fall = np.asarray(fall_per_year, dtype=np.float64)
    cost0 = np.asarray(c_F0, dtype=np.float64)
    if np.any(~(fall > 0.0)) or np.any(~(cost0 > 0.0)):
        raise ValueError("c_F0 and fall_per_year must be positive")
    # exp/log form: one rounding for any month, and fall = 1 is exactly constant.
    return cost0 * np.exp(-np.asarray(month, dtype=np.float64) / 12.0 * np.log(fall))


def serving_cost(
    frontier_cost: np.ndarray,
    size: np.ndarray,
    capability: np.ndarray,
    frontier_capability: np.ndarray,
    gamma: ArrayLike,
) -> np.ndarray:
    """Serving cost of each product line: ``c_F * size_k * exp(-gamma * (q_F - q_k))``.

    A line below the frontier is cheaper to serve by ``exp(-gamma)`` per point of lag (a
    smaller or distilled model reaches that capability); a line above ``q_F`` (if the caller's
    frontier is, say, the closed frontier) costs more in the same proportion.

    Args:
        frontier_cost: ``[W]`` USD per M tokens, ``c_F(t)`` (``frontier_cost()``).
        size: ``[W, K]`` serving-cost factor of each line (> 0; 1 = frontier-sized).
        capability: ``[W, K]`` ECI points, ``q_k``.
        frontier_capability: ``[W]`` ECI points, ``q_F(t)``.
        gamma: Log-cost per ECI point of lag, scalar or ``[W]`` (>= 0); see
            ``gamma_for_declines``.

    Returns:
        ``[W, K]`` USD per M tokens.
    """
    size = np.asarray(size, dtype=np.float64)
    capability = np.asarray(capability, dtype=np.float64)
    if size.ndim != 2 or capability.shape != size.shape:
        raise ValueError("size and capability must both have shape [W, K]")
    lag = _world_column(frontier_capability, "frontier_capability") - capability
    scale = _world_column(frontier_cost, "frontier_cost")
    return scale * size * np.exp(-_world_column(gamma, "gamma") * lag)


def flagship_decline(fall_per_year: ArrayLike) -> np.ndarray:
    """Annual price decline of the flagship (a line at the frontier) at a constant markup.

    The flagship has ``q_k = q_F(t)`` every month, so its cost is ``c_F(t) * size`` and falls
    exactly as the frontier's cost: ``f`` x a year. Target ~1.5-4x (CALIBRATION.md: vendors'
    pricing pages 2024-01 -> 2025-05; MODEL.md 1: ~2-3x).

    Args:
        fall_per_year: ``f``, scalar or ``[W]``.

    Returns:
        The factor by which the flagship's price falls in a year (same shape).
    """
    return np.asarray(fall_per_year, dtype=np.float64).copy()


def constant_capability_decline(
    fall_per_year: ArrayLike, gamma: ArrayLike, frontier_gain_per_year: ArrayLike
) -> np.ndarray:
    """Annual price decline at a fixed capability: ``f * exp(gamma * g)`` (constant markup).

    A fixed ``q`` lags a frontier that gains ``g`` points a year by ``g`` more points each
    year, so ``c(t + 12) / c(t) = f^(-1) * exp(-gamma * g)``.

    Args:
        fall_per_year: ``f``, scalar or ``[W]``.
        gamma: Log-cost per ECI point, scalar or ``[W]``.
        frontier_gain_per_year: ``g`` ECI points a year (~15 after 2024-04, Epoch AI via
            CALIBRATION.md), scalar or ``[W]``.

    Returns:
        The factor by which the price of a fixed capability falls in a year.
    """
    return np.asarray(fall_per_year, dtype=np.float64) * np.exp(
        np.asarray(gamma, dtype=np.float64) * np.asarray(frontier_gain_per_year, dtype=np.float64)
    )


def gamma_for_declines(
    constant_capability_decline: ArrayLike,
    fall_per_year: ArrayLike,
    frontier_gain_per_year: ArrayLike,
) -> np.ndarray:
    """The ``gamma`` that reproduces both declines: ``ln(D / f) / g``.

    Example ranges: ``D`` 10-40x (a16z ~10x/yr; Epoch 40x for GPT-4 level), ``f`` 1.5-4x and
    ``g = 15`` points a year give ``gamma`` from ``ln(10/4)/15 = 0.061`` to
    ``ln(40/1.5)/15 = 0.219`` per point; the central ``D = 10``, ``f = 2.5`` give 0.092.

    Args:
        constant_capability_decline: ``D`` (> 0), the target annual decline at constant
            capability; scalar or ``[W]``.
        fall_per_year: ``f`` (> 0), the target annual decline of the flagship; scalar or ``[W]``.
        frontier_gain_per_year: ``g`` (> 0) ECI points a year; scalar or ``[W]``.

    Returns:
        ``gamma`` per ECI point. Negative when ``D < f`` (no ``gamma >= 0`` fits): the caller
        decides whether that target pair is admissible.
    """
    decline = np.asarray(constant_capability_decline, dtype=np.float64)
    fall = np.asarray(fall_per_year, dtype=np.float64)
    gain = np.asarray(frontier_gain_per_year, dtype=np.float64)
    if np.any(~(decline > 0.0)) or np.any(~(fall > 0.0)) or np.any(~(gain > 0.0)):
        raise ValueError("declines and the frontier gain must be positive")
    return np.log(decline / fall) / gain
