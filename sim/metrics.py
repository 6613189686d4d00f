"""Observation (phase 7): the metrics of MODEL.md 5 per (region, segment).

Rows are every (region, segment) plus the aggregates region ``World`` and
segment ``all``. Shares are fractions in [0, 1]; HHI is in points (0-10,000).
Open-model families count per vendor (HHI is sensitive to this).

**Empty markets are NaN, never a made-up zero.** A share-based metric (HHI, CR,
open shares, mean price) of a cell with no AI adopters, a frontier where no
model of that kind is available, a price at constant capability where no model
reaches the reference, and a gap where no open model is available are NaN.
Region-level supply metrics (contributors, effort, derivatives, compliance,
subsidies, withdrawals, entries, exits, vendors, capped markups) are recorded in
the ``all`` segment row only; per-segment rows hold NaN for them, so sums over
rows never double count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.metric_names import MARKET_METRICS

__all__ = ["hhi", "concentration_ratio", "MonthInputs", "compute_metrics", "METRIC_INDEX",
           "REGION_LEVEL", "gap_in_months"]

METRIC_INDEX = {name: i for i, name in enumerate(MARKET_METRICS)}

REGION_LEVEL = ("vendors_active", "vendors_open", "contributors", "effort", "derivatives",
                "compliance_paid", "subsidy_paid", "withdrawals", "entries", "exits",
                "markup_capped", "frontier_closed", "frontier_open", "gap_months",
                "price_constant_capability")
#: region-level metrics that are flows or counts (NaN in per-segment rows)
SEGMENT_NAN = REGION_LEVEL[:11]


def _shares(values: np.ndarray) -> np.ndarray:
    total = values.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, values / np.where(total > 0, total, 1.0), np.nan)


def hhi(values: np.ndarray) -> np.ndarray:
    """Herfindahl-Hirschman index of the last axis, in points (0-10,000).

    Args:
        values: Quantities per firm (adopters, tokens, revenue); any leading shape.

    Returns:
        ``sum (100 s_k)^2`` with ``s_k`` the shares; NaN where the total is 0.

    Example:
        >>> float(hhi(np.array([50.0, 30.0, 20.0])))
        3800.0
    """
    return (np.square(100.0 * _shares(values))).sum(axis=-1) * np.where(
        values.sum(axis=-1) > 0, 1.0, np.nan)


def concentration_ratio(values: np.ndarray, n: int) -> np.ndarray:
    """Combined share of the ``n`` largest firms (NaN where the total is 0)."""
    shares = _shares(values)
    top = -np.sort(-np.nan_to_num(shares, nan=0.0), axis=-1)[..., :n]
    return np.where(values.sum(axis=-1) > 0, top.sum(axis=-1), np.nan)


def gap_in_months(open_best: np.ndarray, closed_history: np.ndarray, month: int,
                  points_per_month: float) -> np.ndarray:
    """Months since the closed frontier first reached today's best open capability.

    Before month 0 the closed frontier is extrapolated back at ``points_per_month``;
    an open model ahead of the closed frontier gives a negative gap (a lead).
    """
    history = closed_history[: month + 1]
    out = np.full(open_best.shape, np.nan)
    for i, q in np.ndenumerate(open_best):
        if not np.isfinite(q):
            continue
        reached = np.flatnonzero(history >= q)
        if not reached.size:  # open ahead of the closed frontier: a lead
            out[i] = -(q - history[-1]) / points_per_month
        elif reached[0] == 0:  # reached before month 0: extrapolate back
            out[i] = month + (history[0] - q) / points_per_month
        else:
            out[i] = month - reached[0]
    return out


@dataclass
class MonthInputs:
    """What the metrics of one month are computed from."""

    counts: np.ndarray  #: [region, segment, option], access groups pooled
    potential: np.ndarray  #: [region, segment]
    tokens: np.ndarray  #: [segment] per adopter
    price: np.ndarray  #: [vendor]
    hosted: np.ndarray  #: [vendor] share of usage billed
    is_open: np.ndarray  #: [vendor]
    capability: np.ndarray  #: [vendor]
    alive: np.ndarray  #: [vendor]
    reachable: np.ndarray  #: [region, vendor] available to some adopters
    welfare: np.ndarray  #: [region, segment] consumer welfare (inclusive value / alpha)
    region_flows: dict[str, np.ndarray]  #: region-level supply metrics [region]
    closed_history: np.ndarray  #: world closed frontier per month so far
    month: int
    reference_capability: float
    points_per_month: float
    cost_per_point: float = 0.0  #: world.serving_cost_per_point


def _with_totals(x: np.ndarray) -> np.ndarray:
    """Append World (sum over regions) and all (sum over segments) to axes 0 and 1."""
    x = np.concatenate([x, x.sum(axis=0, keepdims=True)], axis=0)
    return np.concatenate([x, x.sum(axis=1, keepdims=True)], axis=1)


def compute_metrics(m: MonthInputs) -> np.ndarray:
    """Return metrics ``[region + World, segment + all, metric]`` for one month."""
    n_r, n_s = m.potential.shape
    out = np.full((n_r + 1, n_s + 1, len(MARKET_METRICS)), np.nan)
    adopters = _with_totals(m.counts[..., 1:].astype(float))  # [R+1, S+1, K]
    tokens = _with_totals(m.counts[..., 1:] * m.tokens[None, :, None])
    revenue = tokens * (m.hosted * m.price)[None, None, :]
    potential = _with_totals(m.potential.astype(float))
    inside = adopters.sum(axis=-1)
    total_tokens = tokens.sum(axis=-1)

    def put(name: str, value: np.ndarray) -> None:
        out[..., METRIC_INDEX[name]] = value

    put("hhi", hhi(adopters))
    put("hhi_usage", hhi(tokens))
    put("hhi_revenue", hhi(revenue))
    put("cr1", concentration_ratio(adopters, 1))
    put("cr4", concentration_ratio(adopters, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        put("effective_firms", 10_000.0 / out[..., METRIC_INDEX["hhi"]])
        put("open_share", (_shares(adopters) * m.is_open).sum(axis=-1)
            * np.where(inside > 0, 1.0, np.nan))
        put("open_usage_share", (_shares(tokens) * m.is_open).sum(axis=-1)
            * np.where(total_tokens > 0, 1.0, np.nan))
        put("open_revenue_share", (_shares(revenue) * m.is_open).sum(axis=-1)
            * np.where(revenue.sum(axis=-1) > 0, 1.0, np.nan))
        put("adoption", np.where(potential > 0, inside / np.where(potential > 0, potential, 1),
                                 np.nan))
        put("price_mean", np.where(total_tokens > 0, (tokens * m.price).sum(axis=-1)
                                   / np.where(total_tokens > 0, total_tokens, 1.0), np.nan))
    put("adopters", inside)
    put("usage", total_tokens)
    put("spend", revenue.sum(axis=-1))
    put("consumer_welfare", _welfare_totals(m.welfare, m.potential))
    _region_level(m, out)
    return out


def _welfare_totals(welfare: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """Potential-adopter-weighted means for the ``all`` and ``World`` aggregates."""
    weighted = _with_totals(welfare * potential)
    weights = _with_totals(potential.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weights > 0, weighted / np.where(weights > 0, weights, 1.0), np.nan)


def _region_level(m: MonthInputs, out: np.ndarray) -> None:
    reach = np.concatenate([m.reachable, (m.alive & m.reachable.any(axis=0))[None, :]], axis=0)
    closed = reach & ~m.is_open
    opened = reach & m.is_open
    q = m.capability[None, :]
    frontier_closed = np.where(closed.any(axis=1), np.where(closed, q, -np.inf).max(axis=1),
                               np.nan)
    frontier_open = np.where(opened.any(axis=1), np.where(opened, q, -np.inf).max(axis=1),
                             np.nan)
    good = reach & (q >= m.reference_capability)
    # a vendor above the reference could serve it with a smaller model, at its price scaled
    # by the cost of the capability it does not need (exp(-cost_per_point * excess))
    at_reference = m.price * np.exp(-m.cost_per_point * (m.capability - m.reference_capability))
    cheapest = np.where(good.any(axis=1), np.where(good, at_reference[None, :], np.inf).min(axis=1),
                        np.nan)
    gap = gap_in_months(frontier_open, m.closed_history, m.month, m.points_per_month)
    level = {
        "frontier_closed": frontier_closed,
        "frontier_open": frontier_open,
        "gap_months": gap,
        "price_constant_capability": cheapest,
        "vendors_active": reach.sum(axis=1).astype(float),
        "vendors_open": opened.sum(axis=1).astype(float),
    }
    for name, values in m.region_flows.items():
        level[name] = np.concatenate([values, [values.sum()]]).astype(float)
    for name, values in level.items():
        column = METRIC_INDEX[name]
        if name in SEGMENT_NAN:
            out[:, -1, column] = values
        else:
            out[:, :, column] = values[:, None]
