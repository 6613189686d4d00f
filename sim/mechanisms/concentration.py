"""Observation of concentration (over firms), openness (over products) and dependence.

MODEL.md section 8: concentration is measured over **firms** in one relevant market
(region, segment); openness over **products**; dependence (MODEL.md 7) over the home regions
of the firms that serve a region. The HHI convention (sum of squared percentage shares,
0-10,000; effective firms = 10,000 / HHI) and the merger-guideline thresholds it is compared
with are in CALIBRATION.md, "Concentration conventions".

Array conventions: leading world axis ``W``; then regions ``R``, segments ``S``, access groups
``G`` where present; products ``K`` (inside options only, no outside option) or firms ``F``
last. Empty-market rule: a share, ratio or index whose denominator (the market total) is 0 is
NaN, computed without a RuntimeWarning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Measures that may be pooled over segments for segment ``all`` (MODEL.md 8). Headcounts
#: ("users") of people and organisations are never pooled: a consumer and a company are not
#: units of the same market.
POOLABLE_KINDS: tuple[str, ...] = ("revenue", "usage")
#: Every measure a concentration index can be computed from.
MEASURE_KINDS: tuple[str, ...] = ("revenue", "usage", "users")

HHI_MAX = 10_000.0  # one firm with 100 %: the 0-10,000 scale of CALIBRATION.md


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Divide elementwise, NaN where the denominator is 0 (the empty-market rule), no warning."""
    numerator, denominator = np.broadcast_arrays(
        np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    )
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _check_non_negative(quantity: np.ndarray, name: str) -> None:
    """Refuse negative quantities; NaN passes (it propagates to the result)."""
    if np.any(quantity < 0):
        raise ValueError(f"{name} must be non-negative (shares, counts, dollars)")


def firm_totals(
    quantity: np.ndarray,
    owner: np.ndarray,
    n_firms: int,
    alive: np.ndarray | None = None,
) -> np.ndarray:
    """Sum a product-level quantity into the firms that own the products.

    A firm owning several lines (open and closed) is one firm in the market: this is the
    firm-level aggregation of MODEL.md 8 (a firm with lines of 30 % and 20 % has 50 %).
    Ownership differs by world (acquisitions), so ``owner`` has a world axis. Implemented with
    one ``np.bincount`` over flattened (world, cell, firm) indices, so a NaN quantity of a
    product reaches its own firm only, and the sum order (products in index order) is the same
    whatever the number of worlds (batched and single worlds are bit-identical).

    Args:
        quantity: ``[W, ..., K]`` non-negative product quantity (adopters, usage in M tokens
            per month, revenue in USD per month), inside options only. The middle axes
            (regions, segments, ...) are kept.
        owner: ``[W, K]`` int firm index ``0..n_firms-1`` of each product.
        n_firms: ``F``, the number of firm slots (dead firms included; they get 0).
        alive: optional ``[W, K]`` bool. Dead products are excluded when given; without it a
            dead product contributes nothing only if its quantity is 0 (the caller's rule).

    Returns:
        ``[W, ..., F]`` firm totals in the unit of ``quantity``.

    Raises:
        ValueError: if shapes disagree or an owner index is out of range.
    """
    quantity = np.asarray(quantity, dtype=np.float64)
    owner = np.asarray(owner)
    n_worlds, n_products = quantity.shape[0], quantity.shape[-1]
    if owner.shape != (n_worlds, n_products):
        raise ValueError(f"owner must have shape {(n_worlds, n_products)}, got {owner.shape}")
    if owner.size and (owner.min() < 0 or owner.max() >= n_firms):
        raise ValueError(f"owner indices must lie in 0..{n_firms - 1}")
    if alive is not None:
        alive_cells = np.asarray(alive, dtype=bool).reshape(
            (n_worlds,) + (1,) * (quantity.ndim - 2) + (n_products,)
        )
        quantity = np.where(alive_cells, quantity, 0.0)
    middle_shape = quantity.shape[1:-1]
    n_cells = int(np.prod(middle_shape, dtype=np.int64))
    flat = quantity.reshape(n_worlds, n_cells, n_products)
    world_index = np.arange(n_worlds)[:, None, None]
    cell_index = np.arange(n_cells)[None, :, None]
    bins = (world_index * n_cells + cell_index) * n_firms + owner.astype(np.int64)[:, None, :]
    totals = np.bincount(bins.ravel(), weights=flat.ravel(), minlength=n_worlds * n_cells * n_firms)
    return totals.reshape((n_worlds, *middle_shape, n_firms))


def shares(quantity: np.ndarray) -> np.ndarray:
    """Shares of the last axis in its total (fractions 0-1), NaN where the total is 0.

    Args:
        quantity: ``[..., F]`` (or ``[..., K]``) non-negative quantities.

    Returns:
        ``[..., F]`` shares summing to 1 along the last axis, NaN in empty markets.
    """
    quantity = np.asarray(quantity, dtype=np.float64)
    _check_non_negative(quantity, "quantity")
    return _safe_divide(quantity, quantity.sum(axis=-1, keepdims=True))


def hhi(quantity: np.ndarray) -> np.ndarray:
    """Herfindahl-Hirschman index over the last axis, on the 0-10,000 scale.

    ``HHI = sum_f (100 * x_f / sum x)^2``: from any non-negative quantity (shares, counts,
    dollars); invariant to scale. Shares are formed before squaring so large dollar amounts
    cannot overflow.

    Args:
        quantity: ``[..., F]`` non-negative firm quantities of one relevant market per cell.

    Returns:
        ``[...]`` HHI in points (10,000 / n_active_firms .. 10,000); NaN where the total is 0.
    """
    return HHI_MAX * np.sum(shares(quantity) ** 2, axis=-1)


def concentration_ratio(quantity: np.ndarray, n: int) -> np.ndarray:
    """Combined share of the ``n`` largest firms (cr1, cr4), a fraction 0-1.

    Args:
        quantity: ``[..., F]`` non-negative firm quantities.
        n: number of largest firms (>= 1); ``n >= F`` gives 1 in a non-empty market.

    Returns:
        ``[...]`` fraction 0-1; NaN where the total is 0.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    ordered = np.sort(shares(quantity), axis=-1)[..., ::-1]  # NaN rows stay NaN
    return np.sum(ordered[..., :n], axis=-1)


def effective_firms(hhi_points: np.ndarray) -> np.ndarray:
    """Number of equal-sized firms with the same HHI: ``10,000 / HHI``.

    Args:
        hhi_points: ``[...]`` HHI on the 0-10,000 scale (NaN in empty markets).

    Returns:
        ``[...]`` effective number of firms; NaN where the HHI is NaN or 0.
    """
    return _safe_divide(np.full(np.shape(hhi_points), HHI_MAX), hhi_points)


def open_share(quantity: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """Share of a product quantity that is on open-weights products (over **products**).

    ``open_usage_share``, ``open_revenue_share`` and ``open_user_share`` of MODEL.md 8 are this
    with usage, revenue or adopters. A firm with open and closed lines counts in both parts.

    Args:
        quantity: ``[W, ..., K]`` non-negative product quantity (inside options only).
        is_open: ``[W, K]`` bool, True for open-weights lines (per world: openness switches).

    Returns:
        ``[W, ...]`` fraction 0-1; NaN where the total is 0.
    """
    quantity = np.asarray(quantity, dtype=np.float64)
    _check_non_negative(quantity, "quantity")
    open_cells = np.asarray(is_open, dtype=bool).reshape(
        (quantity.shape[0],) + (1,) * (quantity.ndim - 2) + (quantity.shape[-1],)
    )
    open_total = np.where(open_cells, quantity, 0.0).sum(axis=-1)
    return _safe_divide(open_total, quantity.sum(axis=-1))


def usage_by_home_region(
    usage: np.ndarray,
    owner: np.ndarray,
    firm_home: np.ndarray,
    n_home_regions: int | None = None,
) -> np.ndarray:
    """Split each region's usage by the home region (headquarters) of the serving firm.

    Args:
        usage: ``[W, R, ..., K]`` non-negative usage (M tokens per month) or any quantity.
        owner: ``[W, K]`` int firm index of each product.
        firm_home: ``[W, F]`` int home-region index of each firm, ``0..n_home_regions-1``;
            indices ``0..R-1`` are the modelled regions, larger ones jurisdictions outside
            the model (each counted as one foreign jurisdiction).
        n_home_regions: ``H >= R``; defaults to ``R``.

    Returns:
        ``[W, R, ..., H]`` usage of region r served by firms headquartered in h.
    """
    usage = np.asarray(usage, dtype=np.float64)
    firm_home = np.asarray(firm_home)
    n_regions = usage.shape[1]
    n_home = n_regions if n_home_regions is None else n_home_regions
    if n_home < n_regions:
        raise ValueError("n_home_regions must be at least the number of regions R")
    product_home = np.take_along_axis(firm_home, np.asarray(owner), axis=1)  # [W, K]
    # The home region acts as the "owner" of a product, so firm_totals does the grouping.
    return firm_totals(usage, product_home, n_home)


def _is_home(by_home: np.ndarray) -> np.ndarray:
    """Mask, broadcastable to ``by_home[W, R, ..., H]``, of the cells where ``h == r``."""
    n_regions, n_home = by_home.shape[1], by_home.shape[-1]
    mask = np.arange(n_regions)[:, None] == np.arange(n_home)[None, :]  # [R, H]
    return mask.reshape((1, n_regions) + (1,) * (by_home.ndim - 3) + (n_home,))


def home_share(
    usage: np.ndarray,
    owner: np.ndarray,
    firm_home: np.ndarray,
    n_home_regions: int | None = None,
) -> np.ndarray:
    """Share of region r's usage served by firms headquartered in r (MODEL.md 7, ``home_share``).

    Args:
        usage: ``[W, R, ..., K]`` non-negative usage (M tokens per month).
        owner: ``[W, K]`` int firm index of each product.
        firm_home: ``[W, F]`` int home-region index of each firm (see `usage_by_home_region`).
        n_home_regions: ``H >= R``; defaults to ``R``.

    Returns:
        ``[W, R, ...]`` fraction 0-1; NaN where region r has no usage.
    """
    by_home = usage_by_home_region(usage, owner, firm_home, n_home_regions)
    own = np.where(_is_home(by_home), by_home, 0.0).sum(axis=-1)
    return _safe_divide(own, by_home.sum(axis=-1))


def foreign_dependence(
    usage: np.ndarray,
    owner: np.ndarray,
    firm_home: np.ndarray,
    n_home_regions: int | None = None,
) -> np.ndarray:
    """Largest share of region r's usage served by the firms of any **single** foreign region.

    ``foreign_dependence[r] = max_{h != r} usage[r, from firms of h] / usage[r]``: the
    dependence on one foreign jurisdiction, i.e. the part of r's usage one foreign government
    (export controls, sanctions, a vendor's withdrawal such as OpenAI blocking API traffic from
    China in 2024-07, CALIBRATION.md) could cut off at once. It is the "cr1 of foreign
    jurisdictions": ``foreign_dependence <= 1 - home_share``, with equality when all foreign
    usage comes from one region, and it distinguishes a region served by many jurisdictions
    from one served by a single one (``1 - home_share`` cannot).

    Args:
        usage: ``[W, R, ..., K]`` non-negative usage (M tokens per month).
        owner: ``[W, K]`` int firm index of each product.
        firm_home: ``[W, F]`` int home-region index of each firm (see `usage_by_home_region`).
        n_home_regions: ``H >= R``; defaults to ``R``.

    Returns:
        ``[W, R, ...]`` fraction 0-1; NaN where region r has no usage.
    """
    by_home = usage_by_home_region(usage, owner, firm_home, n_home_regions)
    largest_foreign = np.where(_is_home(by_home), 0.0, by_home).max(axis=-1)
    return _safe_divide(largest_foreign, by_home.sum(axis=-1))


def pool_segments(quantity: np.ndarray, kind: str, segment_axis: int = 2) -> np.ndarray:
    """Pool a revenue or usage quantity over segments, for segment ``all`` (MODEL.md 8).

    Only spend- and usage-weighted measures are pooled: adopter headcounts of people
    (consumers) and organisations (enterprises) are not units of one market, and an HHI of
    their sum must never be set against merger thresholds (CALIBRATION.md).

    Args:
        quantity: e.g. ``[W, R, S, F]`` firm revenue (USD per month) or usage (M tokens per
            month).
        kind: ``"revenue"`` or ``"usage"``; ``"users"`` is refused.
        segment_axis: the axis of ``S`` (2 for ``[W, R, S, ...]`` arrays).

    Returns:
        ``quantity`` summed over the segment axis (that axis removed).

    Raises:
        ValueError: if ``kind`` is ``"users"`` or unknown.
    """
    if kind == "users":
        raise ValueError(
            "adopter headcounts of people and organisations are never pooled over segments "
            "(MODEL.md 8); pool 'revenue' or 'usage' instead"
        )
    if kind not in POOLABLE_KINDS:
        raise ValueError(f"kind must be one of {POOLABLE_KINDS}, got {kind!r}")
    return np.asarray(quantity, dtype=np.float64).sum(axis=segment_axis)


def hhi_pooled(quantity: np.ndarray, kind: str, segment_axis: int = 2) -> np.ndarray:
    """HHI of segment ``all``: `hhi` of `pool_segments` (revenue or usage only).

    Args:
        quantity: ``[W, R, S, F]`` firm revenue or usage (segment axis at ``segment_axis``).
        kind: ``"revenue"`` or ``"usage"``.
        segment_axis: the axis of ``S``.

    Returns:
        ``[W, R]`` HHI points; NaN where the pooled total is 0.
    """
    return hhi(pool_segments(quantity, kind, segment_axis))


def hhi_market(
    revenue: np.ndarray,
    usage: np.ndarray,
    users: np.ndarray,
    market_measure: Sequence[str],
) -> np.ndarray:
    """The HHI that is each segment's relevant-market measure (``hhi_market``, MODEL.md 8).

    Enterprise: ``"revenue"`` (spend shares, the one comparable with merger guidelines for
    token markets); consumer: ``"users"``; developer: ``"usage"``. For the developer segment
    the caller passes usage **including self-hosted open usage attributed to the model's
    owner** (so open weights' competitive pressure is visible; third-party hosts are a fringe
    and may be left out or given their own firm slots): this function does not attribute.

    Args:
        revenue: ``[..., S, F]`` firm revenue (USD per month), e.g. ``[W, R, S, F]``.
        usage: ``[..., S, F]`` firm usage (M tokens per month).
        users: ``[..., S, F]`` firm adopters (people or organisations).
        market_measure: length ``S``, each ``"revenue"``, ``"usage"`` or ``"users"``.

    Returns:
        ``[..., S]`` HHI points; NaN where the segment's market is empty.
    """
    n_segments = np.shape(revenue)[-2]
    if len(market_measure) != n_segments:
        raise ValueError(f"market_measure needs one name per segment ({n_segments})")
    unknown = sorted(set(market_measure) - set(MEASURE_KINDS))
    if unknown:
        raise ValueError(f"unknown market measure(s) {unknown}; use {MEASURE_KINDS}")
    measure = np.asarray(market_measure)
    return np.where(
        measure == "revenue",
        hhi(revenue),
        np.where(measure == "usage", hhi(usage), hhi(users)),
    )
