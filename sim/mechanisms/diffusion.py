"""Awareness by Bass diffusion: the extensive margin before choice (MODEL.md 4.1).

Potential adopters ``P[W, R, S]`` become aware by a Bass (1969) process

    dA/dt = (p_s + q_s * X / P) * (P - A),

where ``X`` are the current adopters (aware people or organisations who chose an inside
option). Within one month the ratio ``phi = X / A`` (the share of the aware who adopt an
inside option) is held fixed, so with ``F = A / P`` and ``b = q * phi`` the equation is the
Riccati equation ``dF/dt = (p + b F)(1 - F)``. Separating variables,

    d/dt ln((p + b F) / (1 - F)) = p + b =: c,

so ``(p + b F(t)) / (1 - F(t)) = (p + b F0) / (1 - F0) * exp(c t)``. The probability that an
unaware potential adopter becomes aware during a step of length ``dt`` is then

    pi = (F(dt) - F0) / (1 - F0) = h0 * E / (h0 * E + c),   h0 = p + b F0,  E = expm1(c dt),

with ``h0`` the hazard at the start of the month. The form used here,
``pi = h0 / (h0 + c / expm1(c dt))``, is stable everywhere: ``c / expm1(c dt) -> 1 / dt`` as
``c -> 0``; ``E = inf`` gives ``pi = 1``; ``h0 = 0`` (``p = 0`` and nobody aware) gives 0;
``F0 = 1`` gives the limit ``1 - exp(-c dt)``; ``b = 0`` gives ``1 - exp(-p dt)``.

The expected engine advances ``A + (P - A) * pi``; the exact engine draws
``Binomial(P - A, pi)`` (both in the model, not here). Rates are per month when ``dt`` is in
months. Literature priors for ``p`` and ``q`` are in docs/mechanisms/observation-and-demand.md.
"""

from __future__ import annotations

import numpy as np


def _as_float(x: np.ndarray | float) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _check_unit_interval(x: np.ndarray, name: str) -> None:
    if not np.all((x >= 0.0) & (x <= 1.0)):  # also refuses NaN
        raise ValueError(f"{name} must lie in [0, 1] and not be NaN")


def awareness_probability(
    aware_share: np.ndarray,
    inside_ratio: np.ndarray,
    p: np.ndarray | float,
    q: np.ndarray | float,
    dt: float = 1.0,
) -> np.ndarray:
    """Probability that an unaware potential adopter becomes aware during one step.

    Exact solution of ``dF/dt = (p + q*phi*F)(1 - F)`` over ``dt`` with ``phi`` fixed:
    ``pi = h0 / (h0 + c / expm1(c*dt))``, ``h0 = p + q*phi*F0``, ``c = p + q*phi``
    (module docstring for the derivation).

    Args:
        aware_share: ``[W, R, S]`` ``F0 = A / P`` at the start of the step, in [0, 1]. Where
            ``P = 0`` pass any value in [0, 1] (e.g. 0): nobody is drawn there, and a NaN
            would poison ``A + (P - A) * pi``.
        inside_ratio: ``[W, R, S]`` ``phi = X / A`` in [0, 1], held for the step. Where
            ``A = 0`` use the choice model's inside probability of a newly aware adopter
            (``X / A`` is undefined there). ``phi = 1`` switches choice off (classic Bass).
        p: coefficient of innovation per unit of ``dt`` (per month), ``>= 0``, broadcastable
            to ``[W, R, S]`` (e.g. ``[S]`` or ``[W, 1, S]`` for posterior draws).
        q: coefficient of imitation per unit of ``dt``, ``>= 0``, broadcastable likewise.
        dt: step length in the unit of the rates (1.0 = one month), ``> 0``.

    Returns:
        ``[W, R, S]`` probability in [0, 1] (0 when ``p = q*phi*F0 = 0``).

    Raises:
        ValueError: if a share is outside [0, 1] or NaN, a rate is negative or NaN, or
            ``dt <= 0``.
    """
    aware_share, inside_ratio = _as_float(aware_share), _as_float(inside_ratio)
    p, q = _as_float(p), _as_float(q)
    _check_unit_interval(aware_share, "aware_share")
    _check_unit_interval(inside_ratio, "inside_ratio")
    if not (np.all(p >= 0.0) and np.all(q >= 0.0)):
        raise ValueError("p and q must be non-negative and not NaN")
    if not dt > 0.0:
        raise ValueError("dt must be positive")
    imitation = q * inside_ratio  # b: imitation pressure per aware potential adopter
    hazard_now = p + imitation * aware_share  # h0, the hazard at the start of the step
    rate = p + imitation  # c
    with np.errstate(over="ignore"):  # expm1 -> inf only makes the ratio 0, i.e. pi = 1
        growth = np.expm1(rate * dt)
    # c / expm1(c dt) is decreasing in c with limit 1 / dt at c = 0 (also used where a
    # subnormal c makes expm1 underflow to 0).
    inverse_growth = np.full(np.shape(growth), 1.0 / dt)
    np.divide(rate, growth, out=inverse_growth, where=growth > 0.0)
    denominator = hazard_now + inverse_growth
    # denominator = 0 only when expm1 overflowed and h0 = 0: nobody can become aware then.
    probability = np.zeros(np.shape(denominator))
    np.divide(hazard_now, denominator, out=probability, where=denominator > 0.0)
    return probability


def bass_closed_form(t: np.ndarray | float, p: np.ndarray | float,
                     q: np.ndarray | float) -> np.ndarray:
    """Classic Bass cumulative adoption share from ``F(0) = 0`` (Bass 1969).

    ``F(t) = (1 - exp(-(p+q) t)) / (1 + (q/p) exp(-(p+q) t))``, evaluated as
    ``p * (-expm1(-(p+q) t)) / (p + q exp(-(p+q) t))`` so that ``p = 0`` gives 0.

    Args:
        t: time since launch, in the unit of the rates (months), ``>= 0``; any shape.
        p: coefficient of innovation, ``>= 0``; broadcastable with ``t``.
        q: coefficient of imitation, ``>= 0``; broadcastable with ``t``.

    Returns:
        ``F(t)`` in [0, 1], the broadcast shape of the inputs.
    """
    t, p, q = _as_float(t), _as_float(p), _as_float(q)
    rate = p + q
    numerator = p * -np.expm1(-rate * t)
    denominator = p + q * np.exp(-rate * t)
    out = np.zeros(np.broadcast_shapes(t.shape, p.shape, q.shape))
    np.divide(numerator, denominator, out=out, where=denominator > 0.0)
    return out


def bass_peak_time(p: np.ndarray | float, q: np.ndarray | float) -> np.ndarray:
    """Time at which the Bass adoption rate ``dF/dt`` peaks: ``ln(q/p) / (p + q)``.

    For ``q <= p`` the rate is highest at launch (0 returned); for ``p = 0`` there is no
    adoption and no peak (NaN).

    Args:
        p: coefficient of innovation, ``>= 0``.
        q: coefficient of imitation, ``>= 0``.

    Returns:
        peak time in the unit of the rates (months), broadcast shape of the inputs.
    """
    p, q = np.broadcast_arrays(_as_float(p), _as_float(q))
    out = np.full(p.shape, np.nan)
    ratio = np.full(p.shape, np.nan)
    np.divide(q, p, out=ratio, where=p > 0.0)
    later = (p > 0.0) & (ratio > 1.0)
    np.divide(np.log(ratio, out=np.zeros(p.shape), where=later), p + q, out=out, where=later)
    out[(p > 0.0) & ~later] = 0.0
    return out
