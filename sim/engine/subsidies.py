"""Open-source subsidies (MODEL.md 7): who receives the money this month.

A subsidy's budget is paid in each region where it is in force (version 1's rule). The
firms' part goes to the owners of the open lines legally offered there, split by the
lines' usage there last month (equally when none had usage); the contributors' part buys
``budget / cost_per_effort`` developer-months of effort for the open families the region's
communities may work on, split by last month's effort (equally when none).
"""

from __future__ import annotations

import numpy as np

from sim.engine.rules import Rules
from sim.engine.state import State
from sim.mechanisms.concentration import firm_totals

__all__ = ["pay_subsidies", "USAGE_KEY"]

#: ``state.scratch`` key of last month's usage by region and line, ``[W, R, K]``.
USAGE_KEY = "line_usage_by_region"


def _split(weights: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Shares over the last axis: by ``weights`` where eligible, equal if all weights are 0."""
    w = np.where(eligible, np.maximum(weights, 0.0), 0.0)
    total = w.sum(axis=-1, keepdims=True)
    equal = eligible / np.maximum(eligible.sum(axis=-1, keepdims=True), 1)
    return np.where(total > 0, np.divide(w, total, out=np.zeros_like(w), where=total > 0), equal)


def pay_subsidies(state: State, rules: Rules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This month's subsidy payments.

    Returns:
        ``(to_firms[W, F] USD, extra_effort[W, K] developer-months, paid[W, R] USD)``.
    """
    w, k = state.product_alive.shape
    n_f = state.firm_alive.shape[1]
    to_lines = np.zeros((w, k))
    effort = np.zeros((w, k))
    paid = np.zeros(rules.switching_multiplier.shape)
    if not rules.subsidies:
        return np.zeros((w, n_f)), effort, paid
    usage = state.scratch.get(USAGE_KEY, np.zeros((w, paid.shape[1], k)))
    offered = rules.legally_offered().any(axis=2) & state.is_open[:, None, :]  # [W, R, K]
    allowed = rules.contributor_allowed & state.is_open[:, None, :] & state.product_alive[
        :, None, :]
    for subsidy in rules.subsidies:
        fraction = {"vendors": 0.0, "contributors": 1.0}.get(subsidy.recipients,
                                                            subsidy.contributor_fraction)
        fraction = np.broadcast_to(np.asarray(fraction, dtype=float), (w,))
        budget = np.where(subsidy.where, np.asarray(subsidy.budget, dtype=float)[:, None], 0.0)
        firms_part = budget * (1.0 - fraction[:, None])  # [W, R]
        firms_part = np.where(offered.any(axis=-1), firms_part, 0.0)  # nobody to pay
        to_lines += (firms_part[..., None] * _split(usage, offered)).sum(axis=1)
        people = budget * fraction[:, None]
        people = np.where(allowed.any(axis=-1), people, 0.0)
        per_effort = np.asarray(subsidy.cost_per_effort, dtype=float)
        per_effort = np.broadcast_to(per_effort, (w,))[:, None, None]
        effort += (people[..., None] / per_effort * _split(
            np.broadcast_to(state.effort[:, None, :], allowed.shape), allowed)).sum(axis=1)
        paid += firms_part + people
    return firm_totals(to_lines, state.owner, n_f), effort, paid
