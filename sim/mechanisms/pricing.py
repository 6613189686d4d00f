"""Multi-product Bertrand-Nash prices with the intensive margin (MODEL.md 4.2-4.3, 5).

In cell ``c = (r, s)`` of a token-billed segment, ``M_c`` aware adopters choose line ``k``
with the logit share ``s_kc = exp(V_kc - alpha_s ln p_k) / (exp(V0_c) + sum_j exp(...))`` and
use ``tau_kc = tau_s (p_k / p_ref)^(-e_s)`` M tokens a month, so the line sells
``Q_kc = M_c s_kc tau_kc``. Firm ``f`` sets the prices of its priced lines jointly to maximise
``sum_{k in f} sum_c (p_k - c_k) Q_kc`` given everyone else's prices. Elasticities:
``d ln Q_kc / d ln p_k = -(e_s + alpha_s (1 - s_kc))`` and ``d ln Q_jc / d ln p_k =
alpha_s s_kc`` for ``j != k``. With revenue ``R_kc = p_k Q_kc``, margin ``mu_k = 1 - c_k/p_k``
and the profit of the firm's other lines in the cell ``pi_(-k)c``, the first-order condition
``d profit / d ln p_k = 0`` is

    mu_k = sum_c [R_kc + alpha_s s_kc pi_(-k)c] / sum_c (e_s + alpha_s (1 - s_kc)) R_kc,

summed over the line's price domain: every cell (``scope="global"``) or the segments of one
region (``scope="regional"``, one price per region and line). ``solve_prices`` iterates this
map (a Morrow & Skerlos (2011) style markup fixed point, own term solved exactly) in log
markups, for all worlds at once, with per-variable step control. Proofs of the bounds and the
condition for an interior optimum: docs/mechanisms/pricing.md.

Assumption: a firm's objective counts only its priced lines; a non-priced line (open weights
hosted by third parties) earns its owner nothing here and is a rival at a given price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.mechanisms.fixed_point import Anderson
from sim.mechanisms.usage import satiated, satiated_elasticity, satiation_damping, segment_parameter

__all__ = [
    "PricingEquilibrium",
    "TokenMarket",
    "adjust_markups",
    "own_elasticity",
    "solve_prices",
    "token_demand",
    "total_elasticity",
]

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
class PricingEquilibrium:
    """Result of ``solve_prices``.

    Attributes:
        price: ``[W, R, K]`` USD per M tokens; under global scope equal across regions for
            priced lines. Finite everywhere: where a priced line can sell nothing in its
            domain it carries a conventional price (docs), mask it with ``has_demand``.
        markup: ``[W, R, K]`` ``price / cost`` (NaN where the cost is not positive).
        markup_capped: ``[W, R, K]`` bool, ``markup_max`` binds (the firm would rather
            withdraw the line: docs/mechanisms/pricing.md, section 4).
        has_demand: ``[W, R, K]`` bool, the priced line has positive revenue in its domain.
        converged: ``[W]`` bool.
        iterations: ``[W]`` int, iterations until convergence (``max_iter`` if not).
    """

    price: np.ndarray
    markup: np.ndarray
    markup_capped: np.ndarray
    has_demand: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


@dataclass(frozen=True)
class _Cells:
    """TokenMarket shaped for ``[W, R, S, K]`` arithmetic (private).

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


def _cells(market: TokenMarket) -> _Cells:
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
    return _Cells(satiation=satiation, size=size[..., None], utility=utility,
                  outside=np.asarray(market.outside_utility, dtype=np.float64)[..., None],
                  sells=sells[:, :, None, :], alpha=alpha, e=e,
                  base_usage=np.exp(np.log(base)), log_reference=np.log(reference)[..., None],
                  neg_e=-e, inverse=inverse, e_satiated=e_satiated)


def _demand(cells: _Cells, log_price: np.ndarray
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


def _domain_sum(x: np.ndarray, scope: Scope) -> np.ndarray:
    """Sum ``[W, R, S, K]`` over a price domain: ``[W, 1, K]`` (global) or ``[W, R, K]``.

    The global total is left for broadcasting against ``[W, R, K]`` rather than copied to
    every region: the fixed point's elementwise arithmetic gives the same numbers either way.
    """
    if scope == "global":
        return x.sum(axis=(1, 2))[:, None, :]
    return x.sum(axis=2)


@dataclass(frozen=True)
class _Owners:
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


def _ownership(owner: np.ndarray, priced: np.ndarray, n_firms: int,
               cells: tuple[int, int]) -> _Owners:
    """The firm that earns each priced line (:class:`_Owners`), for ``cells = (R, S)``."""
    owner = np.asarray(owner)
    if owner.ndim != 2 or np.any((owner < 0) | (owner >= n_firms)):
        raise ValueError("owner must be [W, K] firm indices in 0..n_firms-1")
    n_worlds, n_lines = owner.shape
    n_regions, n_segments = cells
    cell_base = (np.arange(n_worlds * n_regions * n_segments, dtype=np.int64) * n_firms
                 ).reshape(n_worlds, n_regions, n_segments, 1)
    index = (cell_base + owner[:, None, None, :]).ravel()
    priced = np.broadcast_to(np.asarray(priced, bool), owner.shape)[:, None, None, :]
    return _Owners(index=index, priced=priced,
                   firm_shape=(n_worlds, n_regions, n_segments, n_firms),
                   line_shape=(n_worlds, n_regions, n_segments, n_lines))


def _log_fixed_prices(fixed_price: np.ndarray, sells: np.ndarray, priced: np.ndarray
                      ) -> np.ndarray:
    """``[W, R, K]`` log of the given prices, checked where a non-priced line sells."""
    fixed = np.asarray(fixed_price, dtype=np.float64)
    if fixed.ndim == 2:
        fixed = fixed[:, None, :]
    fixed = np.broadcast_to(fixed, sells.shape)
    needed = sells & ~priced[:, None, :]
    if np.any(needed & ~(fixed > 0.0)) or np.any(needed & ~np.isfinite(fixed)):
        raise ValueError("fixed_price must be positive and finite where a non-priced line sells")
    return np.log(np.where(fixed > 0.0, fixed, 1.0), where=np.isfinite(fixed),
                  out=np.zeros(sells.shape))


def _target_margin(cells: _Cells, log_price: np.ndarray, margin: np.ndarray,
                   own: _Owners, scope: Scope, fallback: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The FOC map: target margins ``mu``, and where the domain has demand (bool).

    Where it has none the margin is ``fallback``, which has the domain's shape
    (:func:`_domain_sum`) or a broadcast of it.
    """
    share, tokens, elasticity = _demand(cells, log_price)
    revenue = np.exp(log_price)[:, :, None, :] * tokens
    line_profit = margin[:, :, None, :] * revenue
    siblings = own.at_lines(own.firm_sum(line_profit)) - line_profit
    numerator = _domain_sum(revenue + cells.alpha * share * siblings, scope)
    denominator = _domain_sum((elasticity + cells.alpha * (1.0 - share)) * revenue, scope)
    has_demand = denominator > 0.0
    return np.divide(numerator, denominator, out=fallback.copy(), where=has_demand), has_demand


def solve_prices(
    market: TokenMarket,
    cost: np.ndarray,
    owner: np.ndarray,
    priced: np.ndarray,
    fixed_price: np.ndarray,
    *,
    n_firms: int | None = None,
    scope: Scope = "global",
    markup_max: float | np.ndarray = 50.0,
    initial_markup: np.ndarray | None = None,
    tol: float = 1e-12,
    max_iter: int = 1000,
) -> PricingEquilibrium:
    """Multi-product Bertrand-Nash prices of the priced lines, for all worlds at once.

    Args:
        market: The demand side (``TokenMarket``).
        cost: ``[W, K]`` serving cost, USD per M tokens (> 0 for priced lines).
        owner: ``[W, K]`` int, firm index of each line.
        priced: ``[W, K]`` bool, the owner chooses the price (closed lines, open lines it
            hosts); other lines keep ``fixed_price`` and earn their owner nothing here.
        fixed_price: ``[W, K]`` or ``[W, R, K]`` USD per M tokens of non-priced lines
            (e.g. third-party hosting at cost x (1 + margin)); ignored for priced lines; may
            be NaN where the line does not sell.
        n_firms: ``F``; default ``owner.max() + 1``.
        scope: ``"global"`` (one price per line, FOC over all cells) or ``"regional"`` (one
            price per region and line, FOC over that region's segments).
        markup_max: Safeguard cap on ``p / c`` (> 1): one number, or one per world ``[W]``.
        initial_markup: ``[W, K]`` or ``[W, R, K]`` start (e.g. last month's target);
            default the zero-share markup ``(e + alpha) / (e + alpha - 1)``.
        tol: Convergence tolerance on the largest change of a log markup in a world.
        max_iter: Iteration limit.

    Returns:
        A ``PricingEquilibrium``.
    """
    if scope not in ("global", "regional"):
        raise ValueError(f"scope must be 'global' or 'regional', got {scope!r}")
    markup_max = np.asarray(markup_max, dtype=np.float64)
    if not np.all(markup_max > 1.0):
        raise ValueError("markup_max must exceed 1")
    if markup_max.ndim == 1:  # one cap per world, broadcast over regions and lines
        markup_max = markup_max[:, None, None]
    cells = _cells(market)
    sells = cells.sells[:, :, 0, :]
    cost = np.asarray(cost, dtype=np.float64)
    priced = np.asarray(priced, dtype=bool) & np.ones(cost.shape, dtype=bool)
    if np.any(priced & ~(cost > 0.0)):
        raise ValueError("cost must be positive for priced lines")
    n_firms = int(np.max(owner)) + 1 if n_firms is None else n_firms
    own = _ownership(owner, priced, n_firms, (sells.shape[1], cells.utility.shape[2]))
    shape = sells.shape
    log_cost = np.broadcast_to(np.log(np.where(cost > 0.0, cost, 1.0))[:, None, :], shape)
    log_fixed = _log_fixed_prices(fixed_price, sells, priced)
    is_priced = np.broadcast_to(priced[:, None, :], shape)
    # Convention (assumption, docs section 5) where a line sells nothing in its domain: the
    # zero-share single-line margin 1 / (e + alpha), equal cell weights (it changes no profit).
    zero_share = _domain_sum(np.broadcast_to(cells.e + cells.alpha, cells.utility.shape), scope)
    cap = -np.expm1(-np.log(markup_max))  # the margin 1 - 1/markup_max
    fallback = np.minimum(_domain_sum(np.ones(cells.utility.shape), scope) / zero_share, cap)
    if initial_markup is None:
        log_markup = -np.log1p(-fallback)
    else:
        start = np.asarray(initial_markup, dtype=np.float64)
        start = np.broadcast_to(start[:, None, :] if start.ndim == 2 else start, shape)
        log_markup = np.log(np.clip(start, 1.0, markup_max))
    log_markup = np.where(is_priced, log_markup, 0.0)
    # Convergence is judged and frozen per price domain (a world under global scope, a
    # (world, region) under regional scope), so that no domain's answer depends on how long
    # another one (another world, another region) takes: batched worlds equal single ones
    # and a change confined to one region leaves the others' regional prices exactly alone.
    blocks = (shape[0], 1) if scope == "global" else shape[:2]
    block_axes = (1, 2) if scope == "global" else 2
    active = np.ones(blocks, dtype=bool)
    iterations = np.full(blocks, max_iter)
    step_size = np.ones(shape)
    last_change = np.zeros(shape)
    n_blocks = int(np.prod(blocks))
    accelerate = Anderson(n_blocks, int(np.prod(shape)) // n_blocks)
    log_cap = -np.log1p(-cap)  # the largest log markup the map can ask for
    evaluated = None  # the map at the final iterate, when the last iteration computed it
    for iteration in range(1, max_iter + 1):
        log_price = np.where(is_priced, log_cost + log_markup, log_fixed)
        margin = np.where(is_priced, -np.expm1(-log_markup), 0.0)
        unconstrained, has_demand = _target_margin(cells, log_price, margin, own, scope,
                                                   fallback)
        target = np.minimum(unconstrained, cap)
        change = np.where(is_priced, -np.log1p(-target) - log_markup, 0.0)
        largest = np.abs(change).max(axis=block_axes).reshape(blocks)  # also the step's residual
        done = active & (largest <= tol)
        iterations[done] = iteration
        active &= ~done
        if not active.any():  # every domain keeps its iterate: the step would return it
            final = np.where(is_priced, log_markup.clip(0.0, log_cap), 0.0)
            if np.array_equal(final.view(np.int64), log_markup.view(np.int64)):  # bit for bit
                evaluated = log_price, unconstrained, has_demand
            log_markup = final
            break
        # change has the sign of d profit / d ln p (the map is a scaled own-price gradient
        # step), so a sign flip means overshooting: halve that variable's step; a repeated
        # sign means a steady climb (e.g. towards withdrawal): let the step grow back to 1.
        flipped = change * last_change < 0.0
        step_size = np.where(flipped, 0.5 * step_size, np.minimum(1.0, 2.0 * step_size))
        last_change = change
        safe = log_markup + active[:, :, None] * step_size * change
        # Anderson extrapolation from the last iterates, per price domain, with the damped
        # step as its fallback (sim/mechanisms/fixed_point.py); the tolerance is unchanged
        step = accelerate.step(log_markup.reshape(n_blocks, -1), change.reshape(n_blocks, -1),
                               safe.reshape(n_blocks, -1), active.ravel(),
                               residual=largest.ravel()).reshape(shape)
        log_markup = np.where(is_priced, step.clip(0.0, log_cap), 0.0)
    if evaluated is None:
        log_price = np.where(is_priced, log_cost + log_markup, log_fixed)
        margin = np.where(is_priced, -np.expm1(-log_markup), 0.0)
        evaluated = log_price, *_target_margin(cells, log_price, margin, own, scope, fallback)
    log_price, unconstrained, has_demand = evaluated
    price = np.exp(log_price)
    markup = np.full(shape, np.nan)
    np.divide(price, np.broadcast_to(cost[:, None, :], shape), out=markup,
              where=np.broadcast_to(cost[:, None, :] > 0.0, shape))
    return PricingEquilibrium(
        price=price, markup=markup,
        markup_capped=is_priced & has_demand & (unconstrained >= cap),
        has_demand=is_priced & has_demand,
        converged=~active.any(axis=1), iterations=iterations.max(axis=1))


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
    share, tokens, _ = _demand_at(_cells(market), price)
    return share, tokens


def _demand_at(cells: _Cells, price: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_demand` at prices (not log prices): shares, tokens, usage elasticities."""
    price = np.asarray(price, dtype=np.float64)
    return _demand(cells, np.log(np.where(price > 0.0, price, 1.0)))


def own_elasticity(market: TokenMarket, price: np.ndarray) -> np.ndarray:
    """``-d ln Q_kc / d ln p_k = e_kc + alpha_s (1 - s_kc)`` per cell and line.

    ``e_kc = e_s`` without satiation, ``e_s (S - 1) / (S - 1 + m_kc)`` with it.

    Args:
        market: The demand side.
        price: ``[W, R, K]`` USD per M tokens.

    Returns:
        ``[W, R, S, K]`` (also defined where the line does not sell: share 0 there).
    """
    cells = _cells(market)
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
    cells = _cells(market)
    n_firms = int(np.max(owner)) + 1 if n_firms is None else n_firms
    share, tokens, usage_elasticity = _demand_at(cells, price)
    own = _ownership(owner, priced, n_firms, share.shape[1:3])
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


def adjust_markups(previous_markup: np.ndarray, target_markup: np.ndarray,
                   speed: np.ndarray | float) -> np.ndarray:
    """Partial adjustment of markups in logs: ``m_t = m_(t-1)^(1 - phi) * m*^phi``.

    Markups, not price levels, adjust (MODEL.md 5): when costs fall 10 % a month the price
    follows the cost at once and only the markup lags. Prices are then ``cost * m_t``.

    Args:
        previous_markup: Last month's markups ``p / c`` (> 0), any shape.
        target_markup: This month's equilibrium markups (> 0), broadcastable.
        speed: ``phi`` in [0, 1], broadcastable (e.g. ``[W, 1, 1]`` per world).

    Returns:
        The new markups (broadcast shape).
    """
    previous = np.asarray(previous_markup, dtype=np.float64)
    target = np.asarray(target_markup, dtype=np.float64)
    phi = np.asarray(speed, dtype=np.float64)
    if np.any(~(previous > 0.0)) or np.any(~(target > 0.0)):
        raise ValueError("markups must be positive")
    if np.any(~((phi >= 0.0) & (phi <= 1.0))):
        raise ValueError("speed must lie in [0, 1]")
    return np.exp((1.0 - phi) * np.log(previous) + phi * np.log(target))
