"""Money-metric welfare: consumer and producer surplus, net welfare, break-even misuse premium.

MODEL.md 7. Consumer surplus is the Small & Rosen (1981) / McFadden log-sum of the choice
logit converted to money by a marginal utility of money ``lambda_s = alpha_s / spend_ref_s``
per segment; its level is measured from the choke (every product's price infinite, so that
every aware adopter takes the outside option) and equals ``-ln(s_0) / lambda`` per aware
adopter. Policy effects are compensating variations between paired runs, which equal the
difference of levels. The intensive margin and subscription billing enter through the price
term of the utility; the doc (docs/mechanisms/welfare-and-harm.md) shows when this is exact
(spend per adopter independent of price) and why the Marshallian usage surplus
(sim.mechanisms.usage.marshallian_surplus) is a diagnostic, never added to it.

Shapes follow the v2 convention: ``W`` worlds, then ``R`` regions, ``S`` segments, ``G``
access groups, ``K`` products, ``F`` firms. Money in USD per month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from sim.mechanisms.harm import MISUSE_PREMIUM_RANGE, ArrayLike, HarmComponents, harm_usd


def _ratio(numerator: ArrayLike, denominator: ArrayLike) -> np.ndarray:
    """``numerator / denominator``, NaN where the denominator is 0, without warnings."""
    num, den = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den != 0.0)


def inclusive_value(
    utility: np.ndarray, available: np.ndarray | None = None, outside_utility: ArrayLike = 0.0
) -> np.ndarray:
    """Log-sum ``ln(exp(V_0) + sum_k exp(V_k))`` over the available products, overflow-safe.

    Args:
        utility: ``[..., K]`` deterministic utility ``V_k`` of each product (e.g.
            ``[W, R, S, G, K]``), utils.
        available: ``[..., K]`` booleans; unavailable products are left out. None: all.
        outside_utility: ``V_0``, broadcastable to ``[...]``, utils.

    Returns:
        ``[...]`` inclusive value, utils (``V_0`` where no product is available).
    """
    u = np.asarray(utility, dtype=float)
    if available is not None:
        u = np.where(available, u, -np.inf)
    empty = np.full(u.shape[:-1] + (1,), -np.inf)
    top = np.max(u, axis=-1, keepdims=True) if u.shape[-1] else empty
    shift = np.where(np.isfinite(top), top, 0.0)
    total = np.exp(u - shift).sum(axis=-1)
    log_total = np.log(total, out=np.full(total.shape, -np.inf), where=total > 0.0)
    return np.logaddexp(outside_utility, log_total + shift[..., 0])


def marginal_utility_of_money(
    price_coefficient: ArrayLike, reference_spend: ArrayLike
) -> np.ndarray:
    """``lambda = alpha / spend_ref``: utils per USD per month for one adopter.

    Raising every price by 1 % lowers utility by ``alpha * 0.01`` (log-price utility) and
    costs an adopter 1 % of its spend, so ``alpha / spend_ref`` makes the log-sum's price
    derivative equal expected spend (Roy's identity) at the reference. Use exogenous reference
    quantities (the same in both runs of a pair): token segments ``p_ref_s * tau_s``;
    subscription segments paying fraction times the reference subscription price.

    Args:
        price_coefficient: ``alpha_s``, e.g. ``[S]`` or ``[W, 1, S]``.
        reference_spend: spend per adopter at the reference, USD per month, same shape.

    Returns:
        ``lambda_s``, NaN where the reference spend is 0.
    """
    return _ratio(price_coefficient, reference_spend)


def consumer_surplus_usd(
    inclusive_value: np.ndarray,
    aware_adopters: np.ndarray,
    marginal_utility_of_money: ArrayLike,
    outside_utility: ArrayLike = 0.0,
) -> np.ndarray:
    """Consumer surplus level: aware adopters' money value of their choice set.

    Zero means every aware adopter has only the outside option (all prices at the choke,
    infinite); unaware adopters contribute 0. Per aware adopter it is ``(IV - V_0) / lambda
    = -ln(s_0) / lambda >= 0``, finite whenever the outside share is positive.

    Args:
        inclusive_value: ``[W, R, S, G]`` from :func:`inclusive_value`, utils.
        aware_adopters: ``[W, R, S, G]`` aware adopters (people or organisations).
        marginal_utility_of_money: ``lambda``, broadcastable to ``[W, R, S]``.
        outside_utility: ``V_0``, broadcastable to ``[W, R, S, G]``.

    Returns:
        ``[W, R, S]`` consumer surplus, USD per month.
    """
    gain = np.asarray(inclusive_value, float) - outside_utility
    gain = np.asarray(aware_adopters, float) * gain
    return _ratio(gain.sum(axis=-1), marginal_utility_of_money)


def compensating_variation(
    inclusive_value_policy: np.ndarray,
    inclusive_value_base: np.ndarray,
    marginal_utility_of_money: ArrayLike,
    aware_adopters: np.ndarray,
    aware_adopters_policy: np.ndarray | None = None,
    outside_utility_base: ArrayLike = 0.0,
    outside_utility_policy: ArrayLike | None = None,
) -> np.ndarray:
    """Compensating variation of a policy, paired run against baseline, same month and world.

    With quasi-linear money and logit errors, the CV of a change in the choice set is
    ``(IV_policy - IV_base) / lambda`` per adopter (Small & Rosen 1981); positive means the
    policy makes consumers better off. Adopters aware in one run only gain or lose their level
    (unaware adopters have the outside option's utility), so the result is exactly
    ``consumer_surplus_usd(policy) - consumer_surplus_usd(base)`` with the same ``lambda``.

    Args:
        inclusive_value_policy: ``[W, R, S, G]``, utils, policy run.
        inclusive_value_base: ``[W, R, S, G]``, utils, baseline run.
        marginal_utility_of_money: ``lambda``, broadcastable to ``[W, R, S]``; must be the
            same in both runs (exogenous reference spend).
        aware_adopters: ``[W, R, S, G]`` aware adopters of the baseline.
        aware_adopters_policy: the policy run's, if awareness differs. None: the baseline's.
        outside_utility_base: ``V_0`` of the baseline.
        outside_utility_policy: ``V_0`` of the policy run. None: the baseline's.

    Returns:
        ``[W, R, S]`` compensating variation, USD per month.
    """
    aware_policy = aware_adopters if aware_adopters_policy is None else aware_adopters_policy
    outside_policy = outside_utility_policy
    if outside_policy is None:
        outside_policy = outside_utility_base
    gain_policy = np.asarray(aware_policy, float) * (inclusive_value_policy - outside_policy)
    gain_base = np.asarray(aware_adopters, float) * (inclusive_value_base - outside_utility_base)
    return _ratio((gain_policy - gain_base).sum(axis=-1), marginal_utility_of_money)


def producer_surplus(
    profit_by_firm_region: np.ndarray, firm_home: np.ndarray, n_regions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Producer surplus by the region it is earned in and by firms' home region.

    Args:
        profit_by_firm_region: ``[W, F, R]`` profit of firm ``F`` earned in region ``R``, USD
            per month (revenue and indirect value less serving, compliance and R&D costs: the
            month's real resource costs; the integrator's choice, see the doc).
        firm_home: ``[W, F]`` home region index; slots outside ``[0, n_regions)`` (e.g. -1
            for unused firm slots) are allowed only with zero profit.
        n_regions: number of regions ``R``.

    Returns:
        ``(earned, home)``, each ``[W, R]``, USD per month; both sum to the world's profit.

    Raises:
        ValueError: if a firm with profit has no valid home region.
    """
    profit = np.asarray(profit_by_firm_region, float)
    home = np.asarray(firm_home)
    n_worlds = profit.shape[0]
    by_firm = profit.sum(axis=-1)  # [W, F]
    valid = (home >= 0) & (home < n_regions)
    if np.any(~valid & (by_firm != 0.0)):
        raise ValueError("a firm with non-zero profit has a home region outside [0, n_regions)")
    # bincount over flattened (world, home) adds firms in index order whatever W is (batched
    # and single worlds bit-identical), and a NaN profit reaches only its own home region
    cell = np.arange(n_worlds)[:, None] * n_regions + home
    by_home = np.bincount(cell[valid], weights=by_firm[valid], minlength=n_worlds * n_regions)
    return profit.sum(axis=1), by_home.reshape(n_worlds, n_regions)


def net_welfare_usd(
    consumer_surplus: np.ndarray, producer_surplus_home: np.ndarray, harm: np.ndarray
) -> np.ndarray:
    """``net_welfare_usd[r] = CS[r] + PS of firms headquartered in r - harm[r]``.

    Args:
        consumer_surplus: ``[W, R]`` (segment ``all``: summed over segments), USD per month.
        producer_surplus_home: ``[W, R]`` by firms' home region, USD per month.
        harm: ``[W, R]`` expected harm, USD per month.

    Returns:
        ``[W, R]`` net welfare, USD per month (a level: CS is measured from the choke).
    """
    return consumer_surplus + producer_surplus_home - harm


def net_welfare_effect(
    delta_cs: np.ndarray,
    delta_ps_home: np.ndarray,
    harm_components_base: HarmComponents,
    harm_components_policy: HarmComponents,
    misuse_premium: ArrayLike,
) -> np.ndarray:
    """Policy's net-welfare effect at misuse premium ``m``: ``dCS + dPS - (H_pol(m) - H_base(m))``.

    Args:
        delta_cs: ``[W, R]`` compensating variation (all segments), USD per month.
        delta_ps_home: ``[W, R]`` change in producer surplus by home region, USD per month.
        harm_components_base: components of the baseline run, fields ``[W, R]``.
        harm_components_policy: components of the policy run, fields ``[W, R]``.
        misuse_premium: scalar, ``[W]`` or ``[W, R]``.

    Returns:
        ``[W, R]`` effect, USD per month.
    """
    delta_harm = harm_usd(harm_components_policy, misuse_premium) - harm_usd(
        harm_components_base, misuse_premium
    )
    return delta_cs + delta_ps_home - delta_harm


def break_even_misuse_premium(
    delta_cs: np.ndarray,
    delta_ps_home: np.ndarray,
    harm_components_base: HarmComponents,
    harm_components_policy: HarmComponents,
    m_range: tuple[float, float] = MISUSE_PREMIUM_RANGE,
    verify_with_root_finder: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Misuse premium ``m*`` at which the policy's net-welfare effect is zero, per world and region.

    The effect is linear in ``m``: ``effect(m) = a - (1 + m) b`` with
    ``a = dCS + dPS - d(closed harm)`` and ``b = d(open harm before premium)``, so
    ``m* = (a - b) / b``. Its slope ``-b`` says the direction: a policy that cuts open harm
    (``b < 0``) gains with ``m``.

    Args:
        delta_cs: ``[W, R]`` compensating variation, USD per month.
        delta_ps_home: ``[W, R]`` change in producer surplus by home region, USD per month.
        harm_components_base: baseline components, fields ``[W, R]``.
        harm_components_policy: policy components, fields ``[W, R]``.
        m_range: accepted closed interval of ``m`` (INTERFACES.md: 0-100).
        verify_with_root_finder: re-solve every root with ``scipy.optimize.brentq`` and raise
            if it disagrees with the closed form (off the hot path: one root per cell).

    Returns:
        ``(m_star, reason)``, each ``[W, R]``: ``m_star`` NaN where no break-even exists in
        ``m_range``; ``reason`` is ``""`` where it exists, otherwise why not.
    """
    low, high = m_range
    base, policy = harm_components_base, harm_components_policy
    a = delta_cs + delta_ps_home - (policy.closed - base.closed)
    b = policy.open_before_premium - base.open_before_premium
    m_star = _ratio(a - b, b)
    has_root = (b != 0.0) & (m_star >= low) & (m_star <= high)
    m_star = np.where(has_root, m_star, np.nan)
    effect_low = a - (1.0 + low) * b  # the effect's sign where there is no root
    span = f"[{low:g}, {high:g}]"
    reason = np.select(
        [has_root, np.isnan(a) | np.isnan(b), (a == 0.0) & (b == 0.0), effect_low > 0.0],
        [
            "",
            "no break-even: the net-welfare effect is undefined (NaN inputs)",
            "no break-even: the policy leaves net welfare unchanged at every m",
            f"no break-even in {span}: the policy raises net welfare at every m",
        ],
        default=f"no break-even in {span}: the policy lowers net welfare at every m",
    )
    if verify_with_root_finder:
        for index in zip(*np.nonzero(has_root), strict=True):
            root = _brent_root(a[index], b[index], low, high)
            if not np.isclose(root, m_star[index], rtol=1e-9, atol=1e-9):
                raise RuntimeError(f"closed-form m* {m_star[index]} != root finder {root}")
    return m_star, reason


def break_even_hazard_multiple(
    delta_cs: np.ndarray, delta_ps_home: np.ndarray, delta_harm: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Multiple ``k*`` of the hazard scale at which the policy's net-welfare effect is zero.

    Every harm component is proportional to the hazard scale ``h0`` (harm.py), and harm does
    not feed back into the market, so scaling ``h0`` by ``k`` gives
    ``effect(k) = (dCS + dPS) - k d harm`` and ``k* = (dCS + dPS) / d harm``. Only ``k* > 0``
    is a break-even: otherwise the market effect and the harm effect push net welfare the
    same way at every hazard scale.

    Args:
        delta_cs: ``[W, R]`` compensating variation, USD per month.
        delta_ps_home: ``[W, R]`` change in producer surplus by home region, USD per month.
        delta_harm: ``[W, R]`` change in harm at the run's parameters, USD per month.

    Returns:
        ``(k_star, reason)``, each ``[W, R]``: ``k_star`` NaN where there is none; ``reason``
        ``""`` where it exists, otherwise why not.
    """
    market = np.asarray(delta_cs, float) + np.asarray(delta_ps_home, float)
    harm = np.asarray(delta_harm, float)
    k_star = _ratio(market, harm)
    has_root = np.isfinite(k_star) & (k_star > 0.0)
    reason = np.select(
        [has_root, np.isnan(market) | np.isnan(harm), (market == 0.0) & (harm == 0.0),
         market - harm > 0.0],  # the effect at k = 1 has the sign of the effect at every k
        [
            "",
            "no break-even: the net-welfare effect is undefined (NaN inputs)",
            "no break-even: the policy leaves net welfare unchanged at every hazard scale",
            "no break-even: the policy raises net welfare at every hazard scale",
        ],
        default="no break-even: the policy lowers net welfare at every hazard scale",
    )
    return np.where(has_root, k_star, np.nan), reason


def _brent_root(a: float, b: float, low: float, high: float) -> float:
    """Root of ``a - (1 + m) b`` in [low, high] by Brent's method (the closed form's check)."""
    return float(brentq(lambda m: a - (1.0 + m) * b, low, high, xtol=1e-12, rtol=1e-12))


@dataclass(frozen=True)
class BreakEvenSummary:
    """Break-even misuse premium over worlds, per region (arrays ``[R]``).

    Attributes:
        median: weighted median of ``m*`` among worlds that have one (NaN if none do).
        low: lower end of the central interval (e.g. 5 %) among those worlds.
        high: upper end of the central interval (e.g. 95 %) among those worlds.
        share_with_break_even: weighted share of worlds with a break-even in range.
        share_by_reason: for each reason a world has none, the weighted share of worlds.
    """

    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    share_with_break_even: np.ndarray
    share_by_reason: dict[str, np.ndarray]


def summarise_break_even(
    m_star: np.ndarray,
    reason: np.ndarray,
    weights: np.ndarray | None = None,
    interval: float = 0.9,
) -> BreakEvenSummary:
    """Summarise ``m*`` over worlds: median, central interval, and why worlds have none.

    Quantiles are weighted inverted-CDF quantiles (the smallest ``m*`` whose cumulative weight
    reaches the level), so posterior weights are honoured.

    Args:
        m_star: ``[W, R]`` from :func:`break_even_misuse_premium`.
        reason: ``[W, R]`` from :func:`break_even_misuse_premium`.
        weights: ``[W]`` non-negative world weights (posterior weights). None: equal.
        interval: probability of the central interval (0.9: 5 % to 95 %).

    Returns:
        The summary, arrays ``[R]``.
    """
    n_worlds = m_star.shape[0]
    w = np.ones(n_worlds) if weights is None else np.asarray(weights, float)
    w = np.broadcast_to(w[:, None], m_star.shape)
    total = w.sum(axis=0)
    found = ~np.isnan(m_star)
    w_found = np.where(found, w, 0.0)
    order = np.argsort(np.where(found, m_star, np.inf), axis=0)  # NaN worlds sort last
    values = np.take_along_axis(m_star, order, axis=0)
    cumulative = np.cumsum(np.take_along_axis(w_found, order, axis=0), axis=0)
    mass = cumulative[-1]

    def quantile(level: float) -> np.ndarray:
        index = (cumulative < level * mass - 1e-12 * mass).sum(axis=0)
        picked = np.take_along_axis(values, np.minimum(index, n_worlds - 1)[None], axis=0)[0]
        return np.where(mass > 0.0, picked, np.nan)

    tail = (1.0 - interval) / 2.0
    shares = {
        str(text): _ratio(np.where(reason == text, w, 0.0).sum(axis=0), total)
        for text in np.unique(reason[~found])
    }
    return BreakEvenSummary(
        median=quantile(0.5),
        low=quantile(tail),
        high=quantile(1.0 - tail),
        share_with_break_even=_ratio(mass, total),
        share_by_reason=shares,
    )
