"""Pricing: closed vendors move toward the logit best response; open vendors price near cost.

With utility ``-alpha ln p`` a vendor's share responds as ``ds/dp = -alpha s (1-s) / p``,
so the profit-maximising price of a single-product vendor is ``p / cost = A / (A - 1)``
with ``A`` the usage-weighted ``alpha (1 - s)`` over the cells it sells in
(MODEL.md 4.3). An interior optimum needs ``A > 1`` (hence ``alpha > 1``);
``markup_max`` caps the price as a safeguard and the model counts when it binds.
Prices adjust partially each month: ``p_t = p_{t-1}^(1 - phi) * target^phi``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["serving_cost", "markup_elasticity", "best_response", "adjust_prices", "open_prices"]


def serving_cost(base: float, fall_per_year: float, cost_factor: np.ndarray, month: int,
                 capability_gain: np.ndarray | float = 0.0, per_point: float = 0.0
                 ) -> np.ndarray:
    """Serving cost per M tokens of each vendor in ``month`` (MODEL.md 4.2).

    ``cost_factor * base * fall^(-t/12) * exp(per_point * capability_gain)``: serving a
    model of fixed capability gets ``fall`` times cheaper a year, while a model that
    gains capability (a bigger model) costs ``exp(per_point)`` more per point gained.
    Together they give the two price patterns of MODEL.md 1: ~10x a year cheaper at
    constant capability, a much slower fall at the frontier.
    """
    cost = cost_factor * base * fall_per_year ** (-month / 12.0)
    return cost * np.exp(per_point * capability_gain) if per_point else cost


def markup_elasticity(counts: np.ndarray, potential: np.ndarray, usage: np.ndarray,
                      alpha: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """``A[k]``: usage-weighted ``alpha_s (1 - s[r, s, k])`` (MODEL.md 4.3).

    Args:
        counts: Adopters ``[region, segment, vendor]`` (access groups pooled).
        potential: Potential adopters ``[region, segment]``.
        usage: Tokens per adopter per segment this month.
        alpha: Price weights per segment.
        reach: ``[region, segment, vendor]`` potential usage where the vendor can sell, used
            as weights when it has no usage yet.
    """
    share = counts / np.maximum(potential, 1.0)[..., None]
    weight = counts * usage[None, :, None]
    empty = weight.sum(axis=(0, 1)) <= 0
    weight = np.where(empty[None, None, :], reach, weight)
    term = alpha[None, :, None] * (1.0 - share)
    total = weight.sum(axis=(0, 1))
    return np.divide((weight * term).sum(axis=(0, 1)), total,
                     out=np.full(total.shape, float(alpha.min())), where=total > 0)


def best_response(cost: np.ndarray, elasticity: np.ndarray, markup_max: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Target prices ``cost * A / (A - 1)`` capped at ``markup_max * cost``.

    Returns:
        ``(target, capped)``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        markup = np.where(elasticity > 1.0, elasticity / (elasticity - 1.0), np.inf)
    capped = markup > markup_max
    return cost * np.minimum(markup, markup_max), capped


def adjust_prices(price: np.ndarray, target: np.ndarray, speed: float) -> np.ndarray:
    """Partial adjustment in logs: ``p^(1 - phi) * target^phi``."""
    return np.exp((1.0 - speed) * np.log(price) + speed * np.log(target))


def open_prices(cost: np.ndarray, margin: float) -> np.ndarray:
    """Hosted price of open models: cost plus a thin margin."""
    return cost * (1.0 + margin)
