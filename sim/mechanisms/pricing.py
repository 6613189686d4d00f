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

The demand side (``TokenMarket``, shares, quantities and elasticities at given prices) is
``sim.mechanisms.token_market``; its public names are re-exported here.

Assumption: a firm's objective counts only its priced lines; a non-priced line (open weights
hosted by third parties) earns its owner nothing here and is a rival at a given price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.mechanisms.fixed_point import Anderson
from sim.mechanisms.token_market import (
    Cells,
    Owners,
    Scope,
    TokenMarket,
    cell_demand,
    domain_sum,
    own_elasticity,
    ownership,
    prepare_cells,
    token_demand,
    total_elasticity,
)

__all__ = [
    "PricingEquilibrium",
    "TokenMarket",
    "adjust_markups",
    "own_elasticity",
    "solve_prices",
    "token_demand",
    "total_elasticity",
]


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


def _target_margin(cells: Cells, log_price: np.ndarray, margin: np.ndarray,
                   own: Owners, scope: Scope, fallback: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The FOC map: target margins ``mu``, and where the domain has demand (bool).

    Where it has none the margin is ``fallback``, which has the domain's shape
    (:func:`domain_sum`) or a broadcast of it.
    """
    share, tokens, elasticity = cell_demand(cells, log_price)
    revenue = np.exp(log_price)[:, :, None, :] * tokens
    line_profit = margin[:, :, None, :] * revenue
    siblings = own.at_lines(own.firm_sum(line_profit)) - line_profit
    numerator = domain_sum(revenue + cells.alpha * share * siblings, scope)
    denominator = domain_sum((elasticity + cells.alpha * (1.0 - share)) * revenue, scope)
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
    cells = prepare_cells(market)
    sells = cells.sells[:, :, 0, :]
    cost = np.asarray(cost, dtype=np.float64)
    priced = np.asarray(priced, dtype=bool) & np.ones(cost.shape, dtype=bool)
    if np.any(priced & ~(cost > 0.0)):
        raise ValueError("cost must be positive for priced lines")
    n_firms = int(np.max(owner)) + 1 if n_firms is None else n_firms
    own = ownership(owner, priced, n_firms, (sells.shape[1], cells.utility.shape[2]))
    shape = sells.shape
    log_cost = np.broadcast_to(np.log(np.where(cost > 0.0, cost, 1.0))[:, None, :], shape)
    log_fixed = _log_fixed_prices(fixed_price, sells, priced)
    is_priced = np.broadcast_to(priced[:, None, :], shape)
    # Convention (assumption, docs section 5) where a line sells nothing in its domain: the
    # zero-share single-line margin 1 / (e + alpha), equal cell weights (it changes no profit).
    zero_share = domain_sum(np.broadcast_to(cells.e + cells.alpha, cells.utility.shape), scope)
    cap = -np.expm1(-np.log(markup_max))  # the margin 1 - 1/markup_max
    fallback = np.minimum(domain_sum(np.ones(cells.utility.shape), scope) / zero_share, cap)
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
