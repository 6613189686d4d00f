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


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is not positive."""
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _share_stats(values: np.ndarray, is_open: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Total, HHI, open share and shares of the last axis in one pass (NaN when empty)."""
    total = values.sum(axis=-1)
    shares = _ratio(values, total[..., None])
    concentration = 10_000.0 * np.einsum("...k,...k->...", shares, shares)
    return total, concentration, shares @ is_open.astype(float), shares


def compute_metrics(m: MonthInputs) -> np.ndarray:
    """Return metrics ``[region + World, segment + all, metric]`` for one month."""
    n_r, n_s = m.potential.shape
    out = np.full((n_r + 1, n_s + 1, len(MARKET_METRICS)), np.nan)
    adopters = _with_totals(m.counts[..., 1:].astype(float))  # [R+1, S+1, K]
    tokens = _with_totals(m.counts[..., 1:] * m.tokens[None, :, None])
    revenue = tokens * (m.hosted * m.price)[None, None, :]
    potential = _with_totals(m.potential.astype(float))
    inside, hhi_adopters, open_adopters, shares = _share_stats(adopters, m.is_open)
    total_tokens, hhi_tokens, open_tokens, _ = _share_stats(tokens, m.is_open)
    spend, hhi_spend, open_spend, _ = _share_stats(revenue, m.is_open)
    ranked = -np.sort(-np.nan_to_num(shares, nan=0.0), axis=-1)
    empty = np.where(inside > 0, 1.0, np.nan)
    column = METRIC_INDEX
    out[..., column["hhi"]] = hhi_adopters
    out[..., column["hhi_usage"]] = hhi_tokens
    out[..., column["hhi_revenue"]] = hhi_spend
    out[..., column["cr1"]] = ranked[..., 0] * empty
    out[..., column["cr4"]] = ranked[..., :4].sum(axis=-1) * empty
    out[..., column["effective_firms"]] = _ratio(10_000.0, hhi_adopters)
    out[..., column["open_share"]] = open_adopters
    out[..., column["open_usage_share"]] = open_tokens
    out[..., column["open_revenue_share"]] = open_spend
    out[..., column["adoption"]] = _ratio(inside, potential)
    out[..., column["price_mean"]] = _ratio(tokens @ m.price, total_tokens)
    out[..., column["adopters"]] = inside
    out[..., column["usage"]] = total_tokens
    out[..., column["spend"]] = spend
    out[..., column["consumer_welfare"]] = _welfare_totals(m.welfare, m.potential)
    _region_level(m, out)
    return out


def _welfare_totals(welfare: np.ndarray, potential: np.ndarray) -> np.ndarray:
    """Potential-adopter-weighted means for the ``all`` and ``World`` aggregates."""
    return _ratio(_with_totals(welfare * potential), _with_totals(potential.astype(float)))


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
