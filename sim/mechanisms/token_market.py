"""The demand side of token-billed cells: logit shares, token quantities and elasticities.

In cell ``c = (r, s)`` ``M_c`` aware adopters choose line ``k`` with the logit share ``s_kc``
and use ``tau_kc = tau_s (p_k / p_ref)^(-e_s)`` M tokens a month (the intensive margin of
``sim.mechanisms.usage``), so the line sells ``Q_kc = M_c s_kc tau_kc`` (MODEL.md 4.2-4.3, 5).
This module evaluates that demand at given prices, for all worlds at once, and the
elasticities read from it; ``sim.mechanisms.pricing`` solves the firms' prices against it.

It is separate from the price solver because the demand at given prices knows nothing of
firms' objectives: the solver's fixed point evaluates it, and the checks of the equilibrium
(``token_demand``, the elasticities) read it without solving anything. The helpers the fixed
point calls every iteration (:func:`prepare_cells`, :func:`cell_demand`, :func:`domain_sum`,
:class:`Owners`) are public for ``sim.mechanisms.pricing`` only; the names users import
(``TokenMarket``, ``token_demand``, ``own_elasticity``, ``total_elasticity``) are re-exported
there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.mechanisms.usage import satiated, satiated_elasticity, satiation_damping, segment_parameter

__all__ = [
    "Cells",
    "Owners",
    "Scope",
    "TokenMarket",
    "cell_demand",
    "domain_sum",
    "own_elasticity",
    "ownership",
    "prepare_cells",
    "token_demand",
    "total_elasticity",
]

#: A price domain: every cell (one price per line) or one region's segments.
Scope = Literal["global", "regional"]


@dataclass(frozen=True)
class TokenMarket:
    """The demand side of token-billed cells, everything but prices.

    Attributes:
        market_size: ``[W, R, S]`` aware adopters of the cell (>= 0; 0 is allowed).
        utility: ``[W, R, S, K]`` non-price utility ``V`` (all of ``U`` but ``-alpha ln p``).
        outside_utility: ``[W, R, S]`` utility ``V0`` of the outside option (finite).
        available: ``[W, R, K]`` bool, the line is sold in the region.
        price_weight: ``alpha_s`` (> 0), ``[S]`` or ``[W, S]``.
        usage_elasticity: ``e_s`` (>= 0; > 1 for the bounds of the docs), ``[S]`` or ``[W, S]``.
        base_usage: ``tau_s`` (> 0) M tokens per adopter per month at the reference price,
            ``[S]`` or ``[W, S]``.
        reference_price: ``p_ref`` (> 0) USD per M tokens, broadcastable to ``[W, R, S]``.
        alive: ``[W, K]`` bool or None (all alive); a dead line sells nowhere.
        satiation: ``S_s`` (> 1), ``[S]`` or ``[W, S]``, or None: usage per adopter is
            ``tau_s satiated(m, S)`` (``sim.mechanisms.usage.satiated``) and its elasticity
            ``e (S - 1) / (S - 1 + m)`` instead of ``e``.
    """

    market_size: np.ndarray
    utility: np.ndarray
    outside_utility: np.ndarray
    available: np.ndarray
    price_weight: np.ndarray
    usage_elasticity: np.ndarray
    base_usage: np.ndarray
    reference_price: np.ndarray
    alive: np.ndarray | None = None
    satiation: np.ndarray | None = None


@dataclass(frozen=True)
class Cells:
    """TokenMarket shaped for ``[W, R, S, K]`` arithmetic (:func:`prepare_cells`).

    The fixed point evaluates the demand some ten times a solve, so what does not depend on
    prices (``exp`` of the base usage, ``-e``, the satiation terms) is computed here once.
    """

    size: np.ndarray  # [W, R, S, 1]
    utility: np.ndarray  # [W, R, S, K]
    outside: np.ndarray  # [W, R, S, 1]
    sells: np.ndarray  # [W, R, 1, K]
    alpha: np.ndarray  # [W|1, 1, S, 1]
    e: np.ndarray  # [W|1, 1, S, 1]
    base_usage: np.ndarray  # [W|1, 1, S, 1] exp(ln tau_s), as the demand always used it
    log_reference: np.ndarray  # [W|1, R|1, S|1, 1]
    satiation: np.ndarray | None  # [W|1, 1, S, 1] or None
    neg_e: np.ndarray  # [W|1, 1, S, 1] -e
    inverse: np.ndarray | None  # [W|1, 1, S, 1] 1 / satiation, or None
    e_satiated: np.ndarray | None  # [W|1, 1, S, 1] e (1 - 1 / satiation), or None


def prepare_cells(market: TokenMarket) -> Cells:
    """The market's arrays checked and shaped for the demand (:class:`Cells`)."""
    size = np.asarray(market.market_size, dtype=np.float64)
    utility = np.asarray(market.utility, dtype=np.float64)
    sells = np.asarray(market.available, dtype=bool)
    if size.ndim != 3 or utility.shape[:3] != size.shape or sells.ndim != 3:
        raise ValueError("market_size [W,R,S], utility [W,R,S,K], available [W,R,K] required")
    if market.alive is not None:
        sells = sells & np.asarray(market.alive, dtype=bool)[:, None, :]
    if np.any(~(size >= 0.0)):
        raise ValueError("market_size must be >= 0 and not NaN")
    alpha = segment_parameter(market.price_weight, "price_weight")
    base = segment_parameter(market.base_usage, "base_usage")
    reference = np.asarray(market.reference_price, dtype=np.float64)
    if np.any(~(alpha > 0.0)) or np.any(~(base > 0.0)) or np.any(~(reference > 0.0)):
        raise ValueError("price_weight, base_usage and reference_price must be positive")
    while reference.ndim < 3:
        reference = reference[None]
    e = segment_parameter(market.usage_elasticity, "usage_elasticity")
    satiation = inverse = e_satiated = None
    if market.satiation is not None:
        satiation = segment_parameter(market.satiation, "satiation")
        if np.any(~(satiation > 1.0)):
            raise ValueError("satiation must exceed 1")
        inverse = 1.0 / satiation  # the terms of usage.satiated(_elasticity), hoisted
        e_satiated = e * (1.0 - inverse)
    return Cells(satiation=satiation, size=size[..., None], utility=utility,
                  outside=np.asarray(market.outside_utility, dtype=np.float64)[..., None],
                  sells=sells[:, :, None, :], alpha=alpha, e=e,
                  base_usage=np.exp(np.log(base)), log_reference=np.log(reference)[..., None],
                  neg_e=-e, inverse=inverse, e_satiated=e_satiated)


def cell_demand(cells: Cells, log_price: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shares, token quantities and usage elasticities ``[W, R, S, K]`` at log prices."""
    log_p = np.where(np.isfinite(log_price), log_price, 0.0)[:, :, None, :]
    inside = np.where(cells.sells, cells.utility - cells.alpha * log_p, -np.inf)
    top = np.maximum(cells.outside, inside.max(axis=-1, keepdims=True))  # log-sum-exp shift
    weight = np.exp(inside - top)
    share = weight / (np.exp(cells.outside - top) + weight.sum(axis=-1, keepdims=True))
    multiple = np.exp(cells.neg_e * (log_p - cells.log_reference))
    if cells.inverse is None:
        usage = cells.base_usage * satiated(multiple, None)
        elasticity = satiated_elasticity(cells.e, multiple, None)
    else:  # usage.satiated and usage.satiated_elasticity, their shared denominator once
        damping = satiation_damping(multiple, cells.inverse)
        usage = cells.base_usage * (multiple / damping)
        elasticity = cells.e_satiated / damping
    return share, cells.size * share * usage, elasticity


def domain_sum(x: np.ndarray, scope: Scope) -> np.ndarray:
    """Sum ``[W, R, S, K]`` over a price domain: ``[W, 1, K]`` (global) or ``[W, R, K]``.

    The global total is left for broadcasting against ``[W, R, K]`` rather than copied to
    every region: the fixed point's elementwise arithmetic gives the same numbers either way.
    """
    if scope == "global":
        return x.sum(axis=(1, 2))[:, None, :]
    return x.sum(axis=2)


@dataclass(frozen=True)
class Owners:
    """Who earns each priced line, as flat bin indices rather than a one-hot ``[W, K, F]``.

    ``firm_sum`` adds a ``[W, R, S, K]`` quantity over each firm's priced lines and
    ``at_lines`` reads a ``[W, R, S, F]`` firm quantity back at each priced line (0 at lines
    nobody prices). Both equal the one-hot contractions ``einsum("wrsk,wkf->wrsf")`` and
    ``einsum("wrsf,wkf->wrsk")`` bit for bit (the same additions in the same order; the
    one-hot's extra terms are exact zeros) at a fraction of their cost: the fixed point
    calls them twice an iteration, and the one-hot work grows with ``K x F`` per cell.
    """

    index: np.ndarray   # [W * R * S * K] bin (w, r, s, owner[w, k]) of each line-cell
    priced: np.ndarray  # [W, 1, 1, K]
    firm_shape: tuple[int, int, int, int]
    line_shape: tuple[int, int, int, int]

    def firm_sum(self, x: np.ndarray) -> np.ndarray:
        """``[W, R, S, F]`` sum of ``x`` (``[W, R, S, K]``) over each firm's priced lines."""
        weights = np.where(self.priced, x, 0.0).ravel()
        return np.bincount(self.index, weights=weights,
                           minlength=math.prod(self.firm_shape)).reshape(self.firm_shape)

    def at_lines(self, firm: np.ndarray) -> np.ndarray:
        """``[W, R, S, K]``: each priced line's firm value (0 where the line is not priced)."""
        values = firm.ravel().take(self.index).reshape(self.line_shape)
        return np.where(self.priced, values, 0.0)


def ownership(owner: np.ndarray, priced: np.ndarray, n_firms: int,
               cells: tuple[int, int]) -> Owners:
    """The firm that earns each priced line (:class:`Owners`), for ``cells = (R, S)``."""
    owner = np.asarray(owner)
    if owner.ndim != 2 or np.any((owner < 0) | (owner >= n_firms)):
        raise ValueError("owner must be [W, K] firm indices in 0..n_firms-1")
    n_worlds, n_lines = owner.shape
    n_regions, n_segments = cells
    cell_base = (np.arange(n_worlds * n_regions * n_segments, dtype=np.int64) * n_firms
                 ).reshape(n_worlds, n_regions, n_segments, 1)
    index = (cell_base + owner[:, None, None, :]).ravel()
    priced = np.broadcast_to(np.asarray(priced, bool), owner.shape)[:, None, None, :]
    return Owners(index=index, priced=priced,
                   firm_shape=(n_worlds, n_regions, n_segments, n_firms),
                   line_shape=(n_worlds, n_regions, n_segments, n_lines))


def token_demand(market: TokenMarket, price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit shares and token quantities at given prices.

    Args:
        market: The demand side.
        price: ``[W, R, K]`` USD per M tokens (> 0 where the line sells; NaN elsewhere is
            accepted).

    Returns:
        ``(share, tokens)``, both ``[W, R, S, K]``: the share of the cell's aware adopters
        (0 where the line does not sell) and M tokens a month (``M s tau``).
    """
    share, tokens, _ = _demand_at(prepare_cells(market), price)
    return share, tokens


def _demand_at(cells: Cells, price: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cell_demand` at prices (not log prices): shares, tokens, usage elasticities."""
    price = np.asarray(price, dtype=np.float64)
    return cell_demand(cells, np.log(np.where(price > 0.0, price, 1.0)))


def own_elasticity(market: TokenMarket, price: np.ndarray) -> np.ndarray:
    """``-d ln Q_kc / d ln p_k = e_kc + alpha_s (1 - s_kc)`` per cell and line.

    ``e_kc = e_s`` without satiation, ``e_s (S - 1) / (S - 1 + m_kc)`` with it.

    Args:
        market: The demand side.
        price: ``[W, R, K]`` USD per M tokens.

    Returns:
        ``[W, R, S, K]`` (also defined where the line does not sell: share 0 there).
    """
    cells = prepare_cells(market)
    share, _, usage_elasticity = _demand_at(cells, price)
    return usage_elasticity + cells.alpha * (1.0 - share)


def total_elasticity(
    market: TokenMarket,
    price: np.ndarray,
    owner: np.ndarray,
    priced: np.ndarray,
    *,
    n_firms: int | None = None,
    scope: Scope = "global",
) -> np.ndarray:
    """Elasticity of a firm's total token usage when all its priced lines' prices move together.

    In a cell it is ``e_s + alpha_s (1 - S_fc)`` with ``S_fc`` the firm's share over its
    priced lines; over the price domain the usage-weighted mean. It exceeds ``min e_s``
    whenever the outside option has positive utility weight (docs, section 3).

    Args:
        market: The demand side.
        price: ``[W, R, K]`` USD per M tokens.
        owner: ``[W, K]`` firm index of each line.
        priced: ``[W, K]`` bool, the lines the firm prices.
        n_firms: ``F``; default ``owner.max() + 1``.
        scope: ``"global"`` or ``"regional"``.

    Returns:
        ``[W, F]`` (global) or ``[W, R, F]`` (regional); NaN where the firm sells nothing.
    """
    cells = prepare_cells(market)
    n_firms = int(np.max(owner)) + 1 if n_firms is None else n_firms
    share, tokens, usage_elasticity = _demand_at(cells, price)
    own = ownership(owner, priced, n_firms, share.shape[1:3])
    firm_share = own.firm_sum(share)
    firm_tokens = own.firm_sum(tokens)
    # a firm's usage-weighted intensive elasticity in the cell (its lines' e_kc may differ)
    firm_e = np.divide(own.firm_sum(usage_elasticity * tokens),
                       firm_tokens, out=np.zeros_like(firm_tokens), where=firm_tokens > 0.0)
    weighted = (firm_e + cells.alpha * (1.0 - firm_share)) * firm_tokens
    axes = (1, 2) if scope == "global" else 2
    total = firm_tokens.sum(axis=axes)
    return np.divide(weighted.sum(axis=axes), total, out=np.full(total.shape, np.nan),
                     where=total > 0.0)
