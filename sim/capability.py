"""R&D and capability growth (MODEL.md 4.4).

``dq_k = g_rd ln(1 + R_k / R0(t)) + [open] g_c (E_k / E0)^theta
         + kappa max(0, q_open_best - q_k) + kappa_closed max(0, q_closed_best - q_k)``

Profits fund R&D, R&D raises capability, capability wins share: with the
network term this loop is the engine of concentration. Open weights are a
floor everyone can build on (distillation, fine-tuning): the spill-over term.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import World

__all__ = ["rd_budget", "rd_scale", "capability_growth", "funding"]


def funding(initial: np.ndarray, world: World, month: int) -> np.ndarray:
    """External funding per month: ``initial`` (at step-0 scale) grown by the world trend."""
    return initial * world.funding_growth_per_year ** (month / 12.0)


def rd_budget(rd_share: np.ndarray, funding_now: np.ndarray, profit: np.ndarray) -> np.ndarray:
    """``R_k = rd_share * (funding + max(0, profit))`` in USD per month.

    ``funding`` includes public subsidies received (they fund development too).
    """
    return rd_share * (funding_now + np.maximum(profit, 0.0))


def rd_scale(world: World, month: int) -> float:
    """``R0(t)``: the R&D spend that buys ``g_rd ln 2`` points a month at ``month``."""
    return world.rd_scale * world.rd_scale_growth_per_year ** (month / 12.0)


def capability_growth(world: World, capability: np.ndarray, is_open: np.ndarray,
                      alive: np.ndarray, budget: np.ndarray, effort: np.ndarray,
                      month: int) -> np.ndarray:
    """Capability gained this month by each vendor (0 for dead vendors)."""
    own = world.rd_productivity * np.log1p(budget / rd_scale(world, month))
    community = np.where(
        is_open, world.community_productivity
        * (np.maximum(effort, 0.0) / world.effort_scale) ** world.effort_elasticity, 0.0)
    open_alive = is_open & alive
    closed_alive = ~is_open & alive
    best_open = capability[open_alive].max() if open_alive.any() else -np.inf
    best_closed = capability[closed_alive].max() if closed_alive.any() else -np.inf
    spill = world.spillover * np.maximum(0.0, best_open - capability)
    spill_closed = world.spillover_closed * np.maximum(0.0, best_closed - capability)
    return np.where(alive, own + community + spill + spill_closed, 0.0)
