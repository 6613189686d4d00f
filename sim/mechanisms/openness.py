"""Openness per product line (MODEL.md 6.5): when a generation arrives, and open or closed.

A line's generations arrive as a Poisson process with mean ``generation_months`` between
them (:func:`generation_probability`): release dates of frontier generations are irregular
(Llama 2, 3 and 4: 2023-07, 2024-04, 2025-04; GPT-4, GPT-4o, GPT-4.1: 2023-03, 2024-05,
2025-04 — roughly a year apart, press dates, indicative), and a hazard needs no per-line
phase nobody observes. At each generation an adaptive firm values the generation open and
closed as the firm's whole expected operating profit over the generation's life
(:func:`generation_value`: so cannibalisation of its other lines, developer demand, indirect
value to a parent and regulatory cost are all in it, computed by the caller with the demand
model), less a one-off cost of changing openness. It chooses open with the logit
probability :func:`open_probability`, a relative-scale logit: firms misjudge demand, and a
choice that flips on a 1 % difference would report certainty the model does not have. The
scale ``noise`` is an assumption and a structural uncertainty (docs/mechanisms/openness.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OpennessTerms", "generation_probability", "generation_value", "open_probability",
           "choose_open"]


@dataclass(frozen=True)
class OpennessTerms:
    """Terms of the openness decision. Fields are scalars or ``[W]`` arrays."""

    #: mean months between a line's generations (assumption from release dates, module doc)
    generation_months: float | np.ndarray = 12.0
    #: one-off cost a firm weighs against changing a line's openness, USD (assumption: the
    #: safety evaluation and release engineering of releasable weights, or a paid API for a
    #: line that had none: tens of millions; a friction in the decision, not booked)
    switch_cost_usd: float | np.ndarray = 5e7
    #: logit scale as a share of what is at stake (assumption: a difference of a quarter of
    #: the line's value moves the odds by a factor e)
    noise: float | np.ndarray = 0.25


def generation_probability(generation_months: float | np.ndarray) -> np.ndarray:
    """Probability a line's next generation arrives in a given month: ``1 - exp(-1/m)``.

    The monthly hazard of a Poisson process with mean interval ``m`` months (``m`` > 0).
    """
    m = np.asarray(generation_months, dtype=float)
    return -np.expm1(-1.0 / m)


def generation_value(profit_per_month: np.ndarray, generation_months: float | np.ndarray,
                     changes: np.ndarray, switch_cost_usd: float | np.ndarray) -> np.ndarray:
    """Value of a generation: monthly profit over its expected life, less any switching cost.

    Args:
        profit_per_month: The firm's expected operating profit a month with the generation so.
        generation_months: Expected life of the generation (the mean interval).
        changes: Bool, this choice changes the line's openness.
        switch_cost_usd: One-off cost of a change.

    Returns:
        USD, same shape as ``profit_per_month``.
    """
    return (np.asarray(profit_per_month, dtype=float) * generation_months
            - np.where(changes, switch_cost_usd, 0.0))


def open_probability(value_open: np.ndarray, value_closed: np.ndarray,
                     noise: float | np.ndarray, scale_of: np.ndarray | None = None,
                     floor: float | np.ndarray = 1.0) -> np.ndarray:
    """``P(open) = 1 / (1 + exp(-(V_open - V_closed) / scale))``.

    ``scale = noise * max(scale_of, floor)``, ``scale_of`` defaulting to
    ``|V_open| + |V_closed|`` (with a sum, not a maximum, ``P`` never falls as ``V_open``
    rises): relative, because values span orders of magnitude across firms (a $1M
    difference decides nothing for OpenAI and everything for an entrant). The caller passes
    the line's own stake as ``scale_of`` when the values are a whole firm's.
    ``floor`` (the switching cost, say; at least 1 USD) keeps the scale positive when
    everything is zero. ``noise -> 0`` is the deterministic argmax (a tie gives 1/2).

    Returns:
        Probabilities in [0, 1], same shape as the values.
    """
    v_open = np.asarray(value_open, dtype=float)
    v_closed = np.asarray(value_closed, dtype=float)
    if scale_of is None:
        scale_of = np.abs(v_open) + np.abs(v_closed)
    scale = np.asarray(noise) * np.maximum(scale_of, np.maximum(floor, 1.0))
    diff = v_open - v_closed
    tie_break = np.where(diff > 0, np.inf, np.where(diff < 0, -np.inf, 0.0))  # noise 0: argmax
    with np.errstate(over="ignore"):  # a tiny noise gives +-inf: the argmax, as intended
        z = np.divide(diff, scale, out=tie_break, where=scale > 0)
    return 0.5 * (1.0 + np.tanh(0.5 * np.clip(z, -700.0, 700.0)))  # the logistic, overflow-free


def choose_open(u: np.ndarray, p_open: np.ndarray) -> np.ndarray:
    """Open when the uniform ``u`` falls below ``P(open)`` (one uniform per decision)."""
    return np.asarray(u) < np.asarray(p_open)
