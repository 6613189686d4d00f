"""R&D and capability on the Epoch Capabilities Index scale, with spill-overs (MODEL.md 6.2).

One capability point is one point of Epoch AI's Capabilities Index (ECI), so a point is a fixed
amount of frontier progress (the frontier gained ~8 points a year before 2024-04 and ~15 after:
Epoch AI, CALIBRATION.md fit window). Product line ``k`` gains each month

    dq_k = alive_k * [ g ln(1 + R_k / R0(t))                      own R&D
                      + open_k * community_k                     contributors (ecosystem.py)
                      + kappa_open   * max(0, q_open_best   - q_k)   floor: open weights
                      + kappa_closed * max(0, q_closed_best - q_k) ] pull: distilling APIs

``R_k`` is the share of its owner's R&D budget the line receives (:func:`split_rd_budget`;
by default the firm's flagship gets most, :func:`flagship_weights`). The floor is strong
(anyone can fine-tune or distil open weights), the pull toward closed models weak (APIs show
outputs, not weights); together with the leader's faster own R&D they make the open-closed gap
settle at ``gap* = (a - b) / kappa_closed`` points (:func:`steady_state_gap`): the gap persists
as an emergent result, not an imposed one. ``R0(t)`` moves with two explicit factors, the fall in
the cost of compute and the growth of the compute a frontier point needs (:func:`rd_scale`).

Every state array has a leading world axis ``W``; products are ``K``, firms ``F``. A parameter
that is one number per world is a float or an array of shape ``[W]``. Formulas, defaults and the
steady-state analysis: ``docs/mechanisms/capability-and-ecosystems.md``. The defaults are in
``sim.mechanisms.capability_defaults`` and the measure and steady state of the gap in
``sim.mechanisms.capability_gap``; this module re-exports both.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms.capability_defaults import (
    COMPUTE_COST_FALL_PER_YEAR,
    DIFFICULTY_GROWTH_PER_YEAR,
    ECI_PACE_AFTER_2024_04,
    ECI_PACE_BEFORE_2024_04,
    FLAGSHIP_SHARE,
    KAPPA_CLOSED,
    KAPPA_OPEN,
    RD_PRODUCTIVITY,
    RD_SCALE,
)
from sim.mechanisms.capability_gap import (
    gap_half_life_months,
    gap_months,
    gap_path,
    steady_state_gap,
    steady_state_gap_months,
)

__all__ = [
    "ECI_PACE_BEFORE_2024_04", "ECI_PACE_AFTER_2024_04", "COMPUTE_COST_FALL_PER_YEAR",
    "DIFFICULTY_GROWTH_PER_YEAR", "RD_PRODUCTIVITY", "RD_SCALE", "KAPPA_OPEN", "KAPPA_CLOSED",
    "FLAGSHIP_SHARE", "rd_scale", "constant_pace_budget_growth", "flagship_weights",
    "split_rd_budget", "capability_gain", "frontiers", "gap_months", "steady_state_gap",
    "steady_state_gap_months", "gap_path", "gap_half_life_months",
]


def _per_world(value: float | np.ndarray, ndim: int) -> np.ndarray:
    """A per-world scalar parameter (float or ``[W]``) shaped to broadcast against ``ndim`` axes."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        return arr.reshape(arr.shape + (1,) * (ndim - 1))
    return arr


def rd_scale(month: float, rd_scale_at_start: float | np.ndarray = RD_SCALE,
             compute_cost_fall_per_year: float | np.ndarray = COMPUTE_COST_FALL_PER_YEAR,
             difficulty_growth_per_year: float | np.ndarray = DIFFICULTY_GROWTH_PER_YEAR,
             ) -> np.ndarray:
    """``R0(t) = R0 * (difficulty / compute_cost_fall)^(t / 12)``.

    Cheaper compute lowers the dollars a point costs; each further point needs more compute.
    Budgets growing by ``difficulty / compute_cost_fall`` a year keep ``R / R0`` and hence the
    pace constant (:func:`constant_pace_budget_growth`).

    Args:
        month: Months since step 0 (2024-01).
        rd_scale_at_start: R0 at step 0, USD a month (float or ``[W]``).
        compute_cost_fall_per_year: Factor by which a dollar buys more compute a year (``>0``).
        difficulty_growth_per_year: Factor by which the compute for the same monthly gain grows
            a year (``>0``).

    Returns:
        R0 at ``month`` in USD a month: a 0-d array, or ``[W]`` if any input is per world.
    """
    cost_fall = np.asarray(compute_cost_fall_per_year, dtype=float)
    difficulty = np.asarray(difficulty_growth_per_year, dtype=float)
    if np.any(cost_fall <= 0) or np.any(difficulty <= 0):
        raise ValueError("compute_cost_fall_per_year and difficulty_growth_per_year must be > 0")
    return np.asarray(rd_scale_at_start, dtype=float) * (difficulty / cost_fall) ** (month / 12.0)


def constant_pace_budget_growth(
        compute_cost_fall_per_year: float | np.ndarray = COMPUTE_COST_FALL_PER_YEAR,
        difficulty_growth_per_year: float | np.ndarray = DIFFICULTY_GROWTH_PER_YEAR,
) -> np.ndarray:
    """Yearly budget growth factor that keeps a firm's pace ``g ln(1 + R/R0(t))`` constant.

    Args:
        compute_cost_fall_per_year: As in :func:`rd_scale`.
        difficulty_growth_per_year: As in :func:`rd_scale`.

    Returns:
        ``difficulty / compute_cost_fall`` (x a year); 2.5 at the defaults.
    """
    return (np.asarray(difficulty_growth_per_year, dtype=float)
            / np.asarray(compute_cost_fall_per_year, dtype=float))


def _firm_mask(owner: np.ndarray, alive: np.ndarray, n_firms: int) -> np.ndarray:
    """``[W, F, K]``: line k is alive and owned by firm f (K and F are tens, so this is small)."""
    firms = np.arange(n_firms)[None, :, None]
    return (np.asarray(owner)[:, None, :] == firms) & np.asarray(alive, dtype=bool)[:, None, :]


def flagship_weights(capability: np.ndarray, owner: np.ndarray, alive: np.ndarray,
                     n_firms: int, flagship_share: float | np.ndarray = FLAGSHIP_SHARE,
                     ) -> np.ndarray:
    """R&D weights: a firm's flagship gets ``flagship_share``, its other lines share the rest.

    The flagship is the firm's alive line of highest capability (the first on ties). A firm with
    one alive line gives it everything. Dead lines get 0.

    Args:
        capability: ``[W, K]`` capability, ECI points.
        owner: ``[W, K]`` firm index of each line (``0 <= owner < n_firms``).
        alive: ``[W, K]`` whether the line exists.
        n_firms: ``F``.
        flagship_share: Share in [0, 1] (float or ``[W]``).

    Returns:
        ``[W, K]`` weights summing to 1 over each firm's alive lines.
    """
    share = _per_world(flagship_share, 2)
    if np.any((share < 0) | (share > 1)):
        raise ValueError("flagship_share must be in [0, 1]")
    mask = _firm_mask(owner, alive, n_firms)                         # [W, F, K]
    masked = np.where(mask, np.asarray(capability, dtype=float)[:, None, :], -np.inf)
    best = masked.argmax(axis=2)                                     # first maximum
    is_flagship = (np.arange(mask.shape[2])[None, None, :] == best[:, :, None]) & mask
    is_flagship = is_flagship.any(axis=1)                            # [W, K]
    lines = mask.sum(axis=2)                                         # [W, F]
    lines_of_owner = np.take_along_axis(lines, np.asarray(owner), axis=1)
    others = np.maximum(lines_of_owner - 1, 1)
    weight = np.where(is_flagship, np.where(lines_of_owner > 1, share, 1.0),
                      (1.0 - share) / others)
    return np.where(np.asarray(alive, dtype=bool), weight, 0.0)


def split_rd_budget(firm_budget: np.ndarray, owner: np.ndarray, alive: np.ndarray,
                    weight: np.ndarray | None = None) -> np.ndarray:
    """Split each firm's R&D budget over its alive lines in proportion to ``weight``.

    Args:
        firm_budget: ``[W, F]`` R&D budget, USD a month (``>= 0``).
        owner: ``[W, K]`` firm index of each line.
        alive: ``[W, K]``.
        weight: ``[W, K]`` or ``[K]`` non-negative weights (e.g. :func:`flagship_weights`);
            None splits equally. A firm whose alive lines all weigh 0 spends nothing on them.

    Returns:
        ``[W, K]`` R&D budget of each line, USD a month (0 for dead lines); a firm's lines sum to
        its budget.
    """
    firm_budget = np.asarray(firm_budget, dtype=float)
    alive = np.asarray(alive, dtype=bool)
    w = np.ones(alive.shape) if weight is None else np.broadcast_to(
        np.asarray(weight, dtype=float), alive.shape)
    w = np.where(alive, w, 0.0)
    mask = _firm_mask(owner, alive, firm_budget.shape[1])
    total = np.where(mask, w[:, None, :], 0.0).sum(axis=2)          # [W, F]
    total_of_owner = np.take_along_axis(total, np.asarray(owner), axis=1)
    budget_of_owner = np.take_along_axis(firm_budget, np.asarray(owner), axis=1)
    share = np.divide(w, total_of_owner, out=np.zeros_like(w), where=total_of_owner > 0)
    return budget_of_owner * share


def frontiers(capability: np.ndarray, is_open: np.ndarray, alive: np.ndarray,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Best alive closed and best alive open capability of each world.

    Args:
        capability: ``[W, K]`` ECI points.
        is_open: ``[W, K]``.
        alive: ``[W, K]``.

    Returns:
        ``(closed[W], open[W])``; NaN where a world has no such line.
    """
    q = np.asarray(capability, dtype=float)
    is_open = np.asarray(is_open, dtype=bool)
    alive = np.asarray(alive, dtype=bool)

    def best(mask: np.ndarray) -> np.ndarray:
        top = np.max(q, axis=1, where=mask, initial=-np.inf)
        return np.where(mask.any(axis=1), top, np.nan)

    return best(alive & ~is_open), best(alive & is_open)


def capability_gain(capability: np.ndarray, is_open: np.ndarray, alive: np.ndarray,
                    rd_budget: np.ndarray, rd_scale_now: float | np.ndarray,
                    rd_productivity: float | np.ndarray = RD_PRODUCTIVITY,
                    community_gain: np.ndarray | None = None,
                    kappa_open: float | np.ndarray = KAPPA_OPEN,
                    kappa_closed: float | np.ndarray = KAPPA_CLOSED,
                    spill_from_open: np.ndarray | None = None,
                    absorption: np.ndarray | None = None) -> np.ndarray:
    """Capability each line gains this month (ECI points; 0 for dead lines).

    All lines update from the same month's capabilities (a synchronous step). With
    ``kappa_open + kappa_closed <= 1`` (checked) the new capability ``q + dq`` is non-decreasing
    in every line's capability and budget, so more R&D never lowers anyone's capability in any
    later month.

    Args:
        capability: ``[W, K]`` ECI points.
        is_open: ``[W, K]`` open weights.
        alive: ``[W, K]``.
        rd_budget: ``[W, K]`` the line's R&D budget, USD a month (``>= 0``).
        rd_scale_now: R0(t), USD a month (float or ``[W]``; :func:`rd_scale`).
        rd_productivity: g, points a month per unit of ``ln(1 + R/R0)`` (float or ``[W]``).
        community_gain: ``[W, K]`` points a month from contributors (``ecosystem.community_gain``);
            applied to open alive lines only. None: no community term.
        kappa_open: Floor rate toward the best open model, per month (float or ``[W]``).
        kappa_closed: Pull rate toward the best closed model, per month (float or ``[W]``).
        spill_from_open: ``[W, K]`` lines whose weights can be built on; default open and alive
            (pass exited open lines too if their downloaded weights should still count).
        absorption: ``[W, K]`` share in [0, 1] of the spill-overs each line can take up
            (:func:`absorptive_capacity`); None: all of them.

    Returns:
        ``[W, K]`` capability gained this month.
    """
    q = np.asarray(capability, dtype=float)
    is_open = np.asarray(is_open, dtype=bool)
    alive = np.asarray(alive, dtype=bool)
    budget = np.asarray(rd_budget, dtype=float)
    if np.any(budget < 0):
        raise ValueError("rd_budget must be >= 0")
    k_open, k_closed = _per_world(kappa_open, 2), _per_world(kappa_closed, 2)
    if np.any(k_open < 0) or np.any(k_closed < 0) or np.any(k_open + k_closed > 1):
        raise ValueError("need kappa_open, kappa_closed >= 0 and kappa_open + kappa_closed <= 1")
    scale = _per_world(rd_scale_now, 2)
    if np.any(scale <= 0):
        raise ValueError("rd_scale_now must be > 0")

    own = _per_world(rd_productivity, 2) * np.log1p(budget / scale)
    source = alive & is_open if spill_from_open is None else np.asarray(spill_from_open, bool)
    # -inf when a world has no such line: max(0, -inf - q) = 0, so the term vanishes
    best_open = np.max(q, axis=1, where=source, initial=-np.inf)[:, None]
    best_closed = np.max(q, axis=1, where=alive & ~is_open, initial=-np.inf)[:, None]
    floor = k_open * np.maximum(0.0, best_open - q)
    pull = k_closed * np.maximum(0.0, best_closed - q)
    community = 0.0 if community_gain is None else np.where(
        is_open, np.asarray(community_gain, dtype=float), 0.0)
    taken_up = 1.0 if absorption is None else np.clip(absorption, 0.0, 1.0)
    return np.where(alive, own + community + taken_up * (floor + pull), 0.0)


def absorptive_capacity(firm_rd: np.ndarray, owner: np.ndarray,
                        absorption_budget: float | np.ndarray = 0.0) -> np.ndarray:
    """Share of the spill-overs each line can take up: ``R_f / (R_f + R_abs)``.

    Fine-tuning or distilling someone else's model takes a team and compute (Cohen and
    Levinthal's absorptive capacity): a firm that spends nothing on R&D learns nothing from
    open weights or APIs, one spending ``R_abs`` takes up half, a frontier lab nearly all. The
    share is the owner's (the firm's whole R&D team absorbs for all its lines). With
    ``R_abs = 0`` every line takes up everything (version 2.0).

    Args:
        firm_rd: ``[W, F]`` R&D spend of each firm this month, USD (>= 0).
        owner: ``[W, K]`` owning firm of each line.
        absorption_budget: ``R_abs``, USD a month (float or ``[W]``, >= 0).

    Returns:
        ``[W, K]`` shares in [0, 1].
    """
    r_abs = _per_world(absorption_budget, 2)
    if np.any(r_abs < 0):
        raise ValueError("absorption_budget must be >= 0")
    rd = np.take_along_axis(np.maximum(np.asarray(firm_rd, dtype=float), 0.0),
                            np.asarray(owner), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = rd / (rd + r_abs)
    return np.where(r_abs > 0, np.nan_to_num(share, nan=0.0), 1.0)
