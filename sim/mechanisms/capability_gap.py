"""The open-closed capability gap: Epoch's months-behind measure and the gap map's steady state.

The R&D step (``sim.mechanisms.capability``) makes the gap between the closed leader and the
best open line an emergent result; this module measures it and solves for where it settles.
:func:`gap_months` reads a history of frontiers the way Epoch AI does (how many months ago the
closed frontier stood where the open one stands now: the engine's ``gap_months`` metric);
:func:`steady_state_gap`, :func:`steady_state_gap_months`, :func:`gap_path` and
:func:`gap_half_life_months` are the closed forms of the gap map
``G' = (1 - kappa_closed) G + (a - b)`` that the tests and the calibration argument check the
simulated gap against. None of them is a step of the month, hence a module of their own;
``sim.mechanisms.capability`` re-exports every name. Derivations:
``docs/mechanisms/capability-and-ecosystems.md`` 3.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.capability_defaults import ECI_PACE_BEFORE_2024_04, KAPPA_CLOSED, KAPPA_OPEN

__all__ = ["gap_months", "steady_state_gap", "steady_state_gap_months", "gap_path",
           "gap_half_life_months"]


def gap_months(closed_frontier_history: np.ndarray, open_frontier: np.ndarray, t: int,
               pace_before_history: float | np.ndarray = ECI_PACE_BEFORE_2024_04) -> np.ndarray:
    """How many months ago the closed frontier was at today's open frontier (Epoch's measure).

    The closed frontier is the running maximum of the history (the best closed model released
    so far), interpolated linearly between months. Before the first month of the history it is
    extrapolated back at ``pace_before_history`` (the step-0 history has a single point).

    Args:
        closed_frontier_history: ``[W, T]`` best closed capability at months ``0 .. T-1``.
        open_frontier: ``[W]`` best open capability now (NaN: no open model).
        t: Index of the current month in the history (``0 <= t < T``).
        pace_before_history: Points a month of the closed frontier before month 0 (float or
            ``[W]``; default Epoch's pre-2024-04 ECI pace).

    Returns:
        ``[W]`` gap in months: 0 where the open frontier is at or above the closed frontier,
        NaN where no open model exists.
    """
    history = np.asarray(closed_frontier_history, dtype=float)
    if not 0 <= t < history.shape[1]:
        raise ValueError(f"t = {t} is outside the history of {history.shape[1]} months")
    level = np.asarray(open_frontier, dtype=float)
    reached = np.maximum.accumulate(history[:, : t + 1], axis=1)     # [W, t+1], non-decreasing
    known = np.isfinite(level)
    safe_level = np.where(known, level, 0.0)
    # index of the first month at which the closed frontier reached the open level
    first = (reached < safe_level[:, None]).sum(axis=1)
    idx_hi = np.minimum(first, t)
    idx_lo = np.maximum(first - 1, 0)
    hi = np.take_along_axis(reached, idx_hi[:, None], axis=1)[:, 0]
    lo = np.take_along_axis(reached, idx_lo[:, None], axis=1)[:, 0]
    inside = (first >= 1) & (first <= t)
    rise = np.where(inside, hi - lo, 1.0)                            # > 0 where inside
    month_inside = idx_lo + (safe_level - lo) / rise
    pace = np.broadcast_to(np.asarray(pace_before_history, dtype=float), level.shape)
    safe_pace = np.where(pace > 0, pace, 1.0)
    month_before = np.where(pace > 0, -(reached[:, 0] - safe_level) / safe_pace, np.nan)
    month = np.where(first == 0, month_before, month_inside)
    gap = np.where(first > t, 0.0, t - month)
    return np.where(known, gap, np.nan)


def steady_state_gap(closed_gain: float | np.ndarray, open_gain: float | np.ndarray,
                     kappa_closed: float | np.ndarray = KAPPA_CLOSED,
                     kappa_open: float | np.ndarray = KAPPA_OPEN) -> np.ndarray:
    """Fixed point of the gap map between the closed leader and the best open line (points).

    With the leader gaining ``a`` and the best open line ``b`` a month of their own (R&D plus,
    for the open line, community), the gap ``G = q_closed - q_open`` follows
    ``G' = (1 - kappa_closed) G + (a - b)`` while ``G >= 0`` and ``G' = (1 - kappa_open) G +
    (a - b)`` while ``G < 0`` (then the leader is the one pulled up by the open floor).

    Args:
        closed_gain: ``a``, points a month.
        open_gain: ``b``, points a month.
        kappa_closed: Pull toward closed models, per month.
        kappa_open: Floor toward the best open model, per month.

    Returns:
        ``(a - b) / kappa_closed`` if ``a >= b``, else ``(a - b) / kappa_open``; inf when the
        relevant kappa is 0 and ``a != b`` (the gap diverges), NaN when it is 0 and ``a == b``
        (the gap keeps its initial value).
    """
    drift = np.asarray(closed_gain, dtype=float) - np.asarray(open_gain, dtype=float)
    kappa = np.where(drift >= 0, np.asarray(kappa_closed, dtype=float),
                     np.asarray(kappa_open, dtype=float))
    safe = np.where(kappa > 0, kappa, 1.0)
    diverging = np.where(drift == 0, np.nan, np.where(drift > 0, np.inf, -np.inf))
    return np.where(kappa > 0, drift / safe, diverging)


def steady_state_gap_months(closed_gain: float | np.ndarray, open_gain: float | np.ndarray,
                            kappa_closed: float | np.ndarray = KAPPA_CLOSED,
                            kappa_open: float | np.ndarray = KAPPA_OPEN) -> np.ndarray:
    """Steady-state gap in months of frontier progress: ``gap* / a = (1 - b/a) / kappa_closed``.

    Args:
        closed_gain: ``a``, the frontier's pace, points a month (``> 0``).
        open_gain: ``b``, points a month.
        kappa_closed: Pull toward closed models, per month.
        kappa_open: Floor toward the best open model, per month.

    Returns:
        Months; negative when the open line leads in steady state.
    """
    pace = np.asarray(closed_gain, dtype=float)
    if np.any(pace <= 0):
        raise ValueError("closed_gain (the frontier's pace) must be > 0")
    return steady_state_gap(pace, open_gain, kappa_closed, kappa_open) / pace


def gap_path(months: int | np.ndarray, gap_start: float | np.ndarray,
             closed_gain: float | np.ndarray, open_gain: float | np.ndarray,
             kappa_closed: float | np.ndarray = KAPPA_CLOSED) -> np.ndarray:
    """Closed form of the gap after ``months``, while it stays non-negative (points).

    ``G_t = G* + (1 - kappa_closed)^t (G_0 - G*)`` with ``G* = (a - b) / kappa_closed``; with
    ``kappa_closed = 0`` it is ``G_0 + (a - b) t``.

    Args:
        months: Months elapsed.
        gap_start: ``G_0``, points.
        closed_gain: ``a``, points a month.
        open_gain: ``b``, points a month.
        kappa_closed: Pull toward closed models, per month.

    Returns:
        The gap in points.
    """
    t = np.asarray(months, dtype=float)
    g0 = np.asarray(gap_start, dtype=float)
    drift = np.asarray(closed_gain, dtype=float) - np.asarray(open_gain, dtype=float)
    kappa = np.asarray(kappa_closed, dtype=float)
    safe = np.where(kappa > 0, kappa, 1.0)
    fixed = drift / safe
    return np.where(kappa > 0, fixed + (1.0 - kappa) ** t * (g0 - fixed), g0 + drift * t)


def gap_half_life_months(kappa_closed: float | np.ndarray = KAPPA_CLOSED) -> np.ndarray:
    """Months for the distance to the steady-state gap to halve: ``ln 2 / -ln(1 - kappa)``.

    Args:
        kappa_closed: Pull toward closed models, per month, in [0, 1].

    Returns:
        Months (inf for 0, 0 for 1).
    """
    kappa = np.asarray(kappa_closed, dtype=float)
    keep = 1.0 - kappa
    safe = np.where((keep > 0) & (keep < 1), keep, 0.5)
    return np.where(keep >= 1, np.inf, np.where(keep <= 0, 0.0, np.log(2.0) / -np.log(safe)))
