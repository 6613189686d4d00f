"""The intensive margin: usage, spend and revenue per adopter (MODEL.md 4.2).

Token-billed segments (enterprise, developer): usage per adopter of product ``k`` is the
constant-elasticity curve ``tau[W,R,S,K] = tau_s[W,S] * (price[W,R,K] / p_ref[W,R,S])^(-e_s)``,
spend per adopter ``price * tau``; its elasticity with respect to price is ``1 - e_s``, so with
``e_s > 1`` cheaper tokens raise spend (Jevons), as 2024-25 did (CALIBRATION.md: enterprise
model-API spend run-rate $3.5B -> $8.4B in about six months while prices fell).

Subscription-billed segments (consumer): revenue per adopter is
``paying_fraction_s * subscription_price_k``; usage is ``tau_s`` with no price response,
served at the firm's cost; free users bring the firm indirect value (ads, data,
distribution) where the firm has it.

The Marshallian surplus of the constant-elasticity curve is here too, for the welfare
module. Array conventions: leading world axis ``W``, then ``R``, ``S``, ``K`` (inside products
only, no outside option). Prices in USD per million tokens; usage in million tokens per month
per adopter; money in USD per month per adopter.
"""

from __future__ import annotations

import numpy as np


def segment_parameter(values: np.ndarray | float, name: str) -> np.ndarray:
    """Shape a per-segment parameter (``[S]`` or ``[W, S]``) as ``[W or 1, 1, S, 1]``."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise ValueError(f"{name} must have shape [S] or [W, S], got {values.shape}")
    return values[:, None, :, None]


def _product_price(price: np.ndarray, name: str) -> np.ndarray:
    """Check a ``[W, R, K]`` price (NaN for unavailable products) and shape it ``[W,R,1,K]``."""
    price = np.asarray(price, dtype=np.float64)
    if price.ndim != 3:
        raise ValueError(f"{name} must have shape [W, R, K], got {price.shape}")
    if np.any(price <= 0.0):
        raise ValueError(f"{name} must be positive (NaN marks an unavailable product)")
    return price[:, :, None, :]


def satiated(multiple: np.ndarray, satiation: np.ndarray | None) -> np.ndarray:
    """The satiated usage multiple ``m / (1 + (m - 1) / S)`` of a constant-elasticity one ``m``.

    ``m = (p / p_ref)^(-e)``. The result is 1 at the reference price (``m = 1``), close to
    ``m`` for dear lines (``m << S``) and rises to ``S`` as the price falls to 0: an adopter has
    only so many tasks. Smooth, so prices stay first-order conditions; the usage elasticity
    becomes :func:`satiated_elasticity`. ``satiation=None`` (or ``S = inf``) is the curve itself.

    Args:
        multiple: ``m`` (> 0), any shape.
        satiation: ``S`` (> 1), broadcastable, or None.
    """
    if satiation is None:
        return multiple
    return multiple / satiation_damping(multiple, 1.0 / np.asarray(satiation, dtype=np.float64))


def satiated_elasticity(elasticity: np.ndarray, multiple: np.ndarray,
                        satiation: np.ndarray | None) -> np.ndarray:
    """``-d ln tau / d ln p = e (S - 1) / (S - 1 + m)`` of the satiated curve (``e`` if None)."""
    if satiation is None:
        return np.broadcast_to(elasticity, np.broadcast_shapes(np.shape(elasticity),
                                                               np.shape(multiple)))
    inverse = 1.0 / np.asarray(satiation, dtype=np.float64)
    return elasticity * (1.0 - inverse) / satiation_damping(multiple, inverse)


def satiation_damping(multiple: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """``1 + (m - 1) / S`` from ``inverse = 1 / S``: the denominator of both satiated curves.

    Shared so that a caller needing usage and elasticity at once (the pricing fixed point)
    computes it once, with exactly the arithmetic of :func:`satiated` and
    :func:`satiated_elasticity`.
    """
    return 1.0 + (multiple - 1.0) * inverse


def token_usage_per_adopter(
    base_usage: np.ndarray,
    price: np.ndarray,
    reference_price: np.ndarray,
    elasticity: np.ndarray,
    satiation: np.ndarray | None = None,
) -> np.ndarray:
    """Usage per adopter of each product in token-billed segments.

    ``tau[w,r,s,k] = tau_s[w,s] * satiated(m, S_s)`` with ``m = (price[w,r,k] /
    p_ref[w,r,s])^(-e_s[w,s])``: the constant-elasticity curve, satiated at ``S_s`` times
    ``tau_s`` (:func:`satiated`; without it a line 100x cheaper than the reference would be
    used 100^e times as much by each adopter).

    Args:
        base_usage: ``tau_s``, ``[S]`` or ``[W, S]`` M tokens per month per adopter at the
            reference price (grows with what models can do).
        price: ``[W, R, K]`` price paid per token, USD per M tokens (> 0; NaN where the product
            is not available, giving NaN usage). Self-hosted use enters at its own cost.
        reference_price: ``p_ref``, ``[W, R, S]`` (or broadcastable), USD per M tokens, > 0.
        elasticity: ``e_s``, ``[S]`` or ``[W, S]``, the price elasticity of usage (>= 0).
        satiation: ``S_s`` (> 1), ``[S]`` or ``[W, S]``: the most an adopter uses, as a
            multiple of ``tau_s``; None for no satiation.

    Returns:
        ``[W, R, S, K]`` M tokens per month per adopter.
    """
    reference = np.asarray(reference_price, dtype=np.float64)
    if reference.ndim != 3 or np.any(~(reference > 0.0)):
        raise ValueError("reference_price must be positive with shape [W, R, S]")
    relative_price = _product_price(price, "price") / reference[..., None]
    multiple = relative_price ** -segment_parameter(elasticity, "elasticity")
    cap = None
    if satiation is not None:
        cap = segment_parameter(satiation, "satiation")
        if np.any(~(cap > 1.0)):
            raise ValueError("satiation must exceed 1")
    return segment_parameter(base_usage, "base_usage") * satiated(multiple, cap)


def subscription_usage_per_adopter(
    base_usage: np.ndarray, n_regions: int, n_products: int
) -> np.ndarray:
    """Usage per adopter in subscription-billed segments: ``tau_s``, no price response.

    A flat monthly price makes the marginal price of a token zero to the user, so usage does
    not respond to the subscription price (assumption: rate limits are not modelled).

    Args:
        base_usage: ``tau_s``, ``[S]`` or ``[W, S]`` M tokens per month per adopter.
        n_regions: ``R``.
        n_products: ``K``.

    Returns:
        ``[W or 1, R, S, K]`` M tokens per month per adopter (a broadcast copy).
    """
    per_segment = segment_parameter(base_usage, "base_usage")
    shape = (per_segment.shape[0], n_regions, per_segment.shape[2], n_products)
    return np.broadcast_to(per_segment, shape).copy()


def spend_per_adopter(price: np.ndarray, usage: np.ndarray) -> np.ndarray:
    """Token spend per adopter, ``price * tau`` (USD per month).

    Args:
        price: ``[W, R, K]`` USD per M tokens.
        usage: ``[W, R, S, K]`` M tokens per month per adopter (billed usage).

    Returns:
        ``[W, R, S, K]`` USD per month per adopter.
    """
    return _product_price(price, "price") * np.asarray(usage, dtype=np.float64)


def subscription_revenue(paying_fraction: np.ndarray, subscription_price: np.ndarray) -> np.ndarray:
    """Cash revenue per adopter in subscription segments: ``paying_fraction_s * price_k``.

    Args:
        paying_fraction: ``[S]`` or ``[W, S]`` share of adopters who pay (0-1).
        subscription_price: ``[W, R, K]`` USD per month per paying adopter (> 0; NaN where
            unavailable). Pass a global price broadcast over regions.

    Returns:
        ``[W, R, S, K]`` USD per month per adopter (paying or not).
    """
    fraction = segment_parameter(paying_fraction, "paying_fraction")
    if np.any((fraction < 0.0) | (fraction > 1.0)):
        raise ValueError("paying_fraction must lie in [0, 1]")
    return fraction * _product_price(subscription_price, "subscription_price")


def indirect_value(paying_fraction: np.ndarray, value_per_free_user: np.ndarray) -> np.ndarray:
    """Indirect value (ads, data, distribution) per adopter: ``(1 - paying_fraction) * v_k``.

    Not cash revenue from users: keep it out of spend, ``hhi_revenue`` and ``price_paid``.
    Assumption: paying users bring no indirect value on top of their subscription.

    Args:
        paying_fraction: ``[S]`` or ``[W, S]`` share of adopters who pay (0-1).
        value_per_free_user: ``[W, R, K]`` USD per month per free user of product ``k`` (the
            owner's value, which differs by region as advertising revenue per user does; 0
            where the firm has none).

    Returns:
        ``[W, R, S, K]`` USD per month per adopter.
    """
    fraction = segment_parameter(paying_fraction, "paying_fraction")
    value = np.asarray(value_per_free_user, dtype=np.float64)
    if value.ndim != 3:
        raise ValueError("value_per_free_user must have shape [W, R, K]")
    return (1.0 - fraction) * value[:, :, None, :]


def serving_bill(usage: np.ndarray, serving_cost: np.ndarray) -> np.ndarray:
    """The firm's cost of serving an adopter: ``usage * serving_cost`` (USD per month).

    Args:
        usage: ``[W, R, S, K]`` M tokens per month per adopter (subscription usage ``tau_s``
            or hosted token usage; self-hosted usage costs the firm nothing).
        serving_cost: ``[W, K]`` or ``[W, R, K]`` USD per M tokens (MODEL.md 5, ``c_k``).

    Returns:
        ``[W, R, S, K]`` USD per month per adopter.
    """
    cost = np.asarray(serving_cost, dtype=np.float64)
    if cost.ndim == 2:
        cost = cost[:, None, :]
    if cost.ndim != 3:
        raise ValueError("serving_cost must have shape [W, K] or [W, R, K]")
    return np.asarray(usage, dtype=np.float64) * cost[:, :, None, :]


def price_paid(spend: np.ndarray, billed_usage: np.ndarray) -> np.ndarray:
    """Usage-weighted price paid over products: ``sum_k spend / sum_k billed usage``.

    Sum over other axes (segments, regions) first, in both arrays, for a pooled price.

    Args:
        spend: ``[..., K]`` USD per month (totals or per adopter, as ``billed_usage``).
        billed_usage: ``[..., K]`` M tokens per month billed per token (excluding self-hosted
            and subscription usage).

    Returns:
        ``[...]`` USD per M tokens; NaN where there is no billed usage.
    """
    total_spend = np.asarray(spend, dtype=np.float64).sum(axis=-1)
    total_usage = np.asarray(billed_usage, dtype=np.float64).sum(axis=-1)
    out = np.full(np.broadcast_shapes(total_spend.shape, total_usage.shape), np.nan)
    np.divide(total_spend, total_usage, out=out, where=total_usage > 0.0)
    return out


def marshallian_surplus(
    price: np.ndarray,
    usage: np.ndarray,
    elasticity: np.ndarray,
    choke_price: np.ndarray | float | None = None,
) -> np.ndarray:
    """Consumer surplus per adopter of the constant-elasticity usage curve at ``price``.

    With ``tau(x) = a x^(-e)`` (``a = usage * price^e``), ``CS = int_price^p_max tau(x) dx``:
    ``price * usage / (e - 1)`` for ``e > 1`` without a choke price (``+inf`` for ``e <= 1``:
    the integral diverges); with a choke price
    ``a (price^(1-e) - p_max^(1-e)) / (e - 1) = price * usage * (1 - r^(e-1)) / (e - 1)``,
    ``r = price / p_max`` (``price * usage * ln(1 / r)`` at ``e = 1``), 0 for
    ``price >= p_max``. Demand is read as zero above ``p_max`` (a reference that makes the
    level finite, MODEL.md 7); choose ``p_max`` above every reachable price.

    Args:
        price: ``[...]`` USD per M tokens (> 0).
        usage: ``[...]`` M tokens per month per adopter at ``price``.
        elasticity: ``e`` (>= 0), broadcastable.
        choke_price: ``p_max`` USD per M tokens, broadcastable, or None for no choke.

    Returns:
        USD per month per adopter, the broadcast shape of the inputs.
    """
    price = np.asarray(price, dtype=np.float64)
    usage = np.asarray(usage, dtype=np.float64)
    excess = np.asarray(elasticity, dtype=np.float64) - 1.0  # e - 1
    spend = price * usage
    if choke_price is None:
        shape = np.broadcast_shapes(spend.shape, excess.shape)
        out = np.full(shape, np.inf)
        np.divide(np.broadcast_to(spend, shape), excess, out=out, where=excess > 0.0)
        return out
    log_ratio = np.log(price / np.asarray(choke_price, dtype=np.float64))  # ln r
    log_ratio = np.minimum(log_ratio, 0.0)  # above the choke price there is no demand
    # (1 - r^(e-1)) / (e-1) = -expm1((e-1) ln r) / (e-1), with limit -ln r at e = 1.
    shape = np.broadcast_shapes(log_ratio.shape, excess.shape)
    factor = np.array(-np.broadcast_to(log_ratio, shape), dtype=np.float64)  # writable
    np.divide(-np.expm1(excess * log_ratio), excess, out=factor, where=excess != 0.0)
    return spend * factor
