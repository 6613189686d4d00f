"""Entry, exit and acquisition (MODEL.md 6.3).

Potential entrants arrive as a Poisson process with ``rate`` per (world, month, region): one
uniform per cell gives the count by inversion of the Poisson CDF
(:func:`arrival_count_from_uniform`), so counts are reproducible whatever the batch. An arrival
starts from the best open model when one exists (:func:`entrant_start`: fine-tuning or
continued pre-training costs ``open_cost_fraction`` of training from scratch and starts
``open_start_gap`` points below that model) or from scratch (full cost, ``scratch_gap`` points
below the closed frontier): open weights lower both the cost and the gap, which is how they
check market control. It enters when

    value = annuity(horizon, discount) * expected_margin_per_month - entry_cost > 0

(:func:`entry_value`; the margin comes from the demand model, computed by the caller for the
candidate's capability and openness).

A firm whose cash stays negative ``exit_after_months`` months and cannot raise exits
(:func:`exits_due`); a distressed firm (cash below ``distress_runway_months`` of burn and no
round available) is absorbed by the richest alive firm that values it above the price and can
pay (:func:`pick_target`, :func:`pick_acquirer`, :func:`acquire`). Defaults and the arrival
arithmetic: docs/mechanisms/supply-finance-entry.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

#: Names a scenario may use (INTERFACES.md); entrant names never match it.
SCENARIO_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class EntryTerms:
    """Entry costs and starting gaps. Fields are scalars or ``[W]`` arrays."""

    #: cost of a frontier-class lab from scratch at 2024-01, USD (assumption; indicative range
    #: $0.1-1B: first-year raises of 2023 entrants such as Mistral, press, not in CALIBRATION.md)
    full_cost_usd: float | np.ndarray = 5e8
    #: growth of that cost per year (indicative: Epoch AI, frontier training cost ~2.4x/yr,
    #: 2024; not in CALIBRATION.md)
    cost_growth_per_year: float | np.ndarray = 2.4
    open_cost_fraction: float | np.ndarray = 0.1  #: assumption: fine-tuning vs pre-training
    open_start_gap: float | np.ndarray = 1.0  #: points below the best open model (assumption)
    #: points below the closed frontier from scratch: ~16 months at 15 points/yr (CALIBRATION.md
    #: rate; assumption: a new lab's first model trails as Grok-1 (2023-11) trailed GPT-4)
    scratch_gap: float | np.ndarray = 20.0
    horizon_months: float | np.ndarray = 36.0  #: assumption
    annual_discount_rate: float | np.ndarray = 0.15  #: assumption (venture hurdle rate)


@dataclass(frozen=True)
class ExitTerms:
    """Exit and acquisition rules. Fields are scalars or ``[W]`` arrays."""

    exit_after_months: float | np.ndarray = 3.0  #: months of negative cash before exit
    distress_runway_months: float | np.ndarray = 3.0  #: distressed below this runway
    price_run_rate_multiple: float | np.ndarray = 1.0  #: assumption: a distressed discount
    #: acqui-hire value of the team, USD (indicative: Microsoft-Inflection 2024-03 was reported
    #: at ~$650M, press; the event is in CALIBRATION.md, the amount is not)
    talent_price_usd: float | np.ndarray = 6.5e8


def _world(x: float | np.ndarray, ndim: int = 2) -> np.ndarray:
    """A scalar or ``[W]`` parameter shaped to broadcast against ``ndim``-dimensional arrays."""
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(a.shape + (1,) * (ndim - 1)) if a.ndim == 1 else a


def arrival_count_from_uniform(u: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Poisson counts by inversion: the smallest ``n`` with ``P(N <= n) >= u``.

    Args:
        u: uniforms in [0, 1), any shape (e.g. ``[W]`` or ``[W, R]``).
        rate: Poisson means per cell (>= 0), broadcasting against ``u``.

    Returns:
        int64 counts, shape of ``u``; 0 where ``rate == 0`` or ``u == 0``.
    """
    u = np.asarray(u, dtype=np.float64)
    rate = np.asarray(rate, dtype=np.float64)
    if not (np.all((u >= 0.0) & (u < 1.0)) and np.all(rate >= 0.0)):
        raise ValueError("u must lie in [0, 1) and rate be >= 0 (not NaN)")
    n = poisson.ppf(u, np.where(rate > 0, rate, 1.0))
    return np.where(rate > 0, np.maximum(n, 0.0), 0.0).astype(np.int64)


def arrival_rate_per_month(entries_per_year: float, entry_probability: float) -> float:
    """Arrival rate that yields ``entries_per_year`` when a share ``entry_probability`` enters.

    ``lambda = E / (12 p)``: entries are a thinned Poisson process of rate ``lambda p``.
    """
    if not 0.0 < entry_probability <= 1.0:
        raise ValueError("entry_probability must lie in (0, 1]")
    return entries_per_year / (12.0 * entry_probability)


def candidate_mask(count: np.ndarray, n_max: int) -> np.ndarray:
    """``[..., n_max]`` bool: slot ``j`` holds a candidate when ``j < count``."""
    return np.arange(n_max) < np.asarray(count)[..., None]


def entry_cost_at(month: float | np.ndarray, terms: EntryTerms) -> np.ndarray:
    """Full (from-scratch) entry cost at step ``month`` (0 = 2024-01), USD, ``[W]`` or scalar."""
    return np.asarray(terms.full_cost_usd) * np.asarray(terms.cost_growth_per_year) ** (
        np.asarray(month) / 12.0)


def entrant_start(best_open_capability: np.ndarray, closed_frontier: np.ndarray,
                  terms: EntryTerms, month: float | np.ndarray = 0.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starting capability and entry cost of a candidate entrant.

    It takes the better start: ``best_open - open_start_gap`` at ``open_cost_fraction`` of the
    full cost, or ``closed_frontier - scratch_gap`` at the full cost. With no open model
    (``best_open`` NaN or -inf, e.g. a worldwide ban) only the second exists.

    Args:
        best_open_capability: ``[W]`` best open model available to the entrant (NaN/-inf:
            none).
        closed_frontier: ``[W]`` best closed capability.
        terms: entry terms.
        month: step number (entry cost grows with time).

    Returns:
        ``(capability, cost, from_open)``, each ``[W]`` (cost in USD, from_open bool).
    """
    best_open = np.asarray(best_open_capability, dtype=np.float64)
    has_open = np.isfinite(best_open)
    from_scratch = np.asarray(closed_frontier, dtype=np.float64) - _world(terms.scratch_gap, 1)
    from_model = np.where(has_open, best_open, -np.inf) - _world(terms.open_start_gap, 1)
    from_open = has_open & (from_model >= from_scratch)
    capability = np.where(from_open, from_model, from_scratch)
    full = entry_cost_at(month, terms)
    cost = np.where(from_open, full * _world(terms.open_cost_fraction, 1), full)
    return capability, np.broadcast_to(cost, capability.shape).copy(), from_open


def annuity_factor(horizon_months: float | np.ndarray,
                   annual_discount_rate: float | np.ndarray) -> np.ndarray:
    """Present value of $1/month for ``horizon_months`` months (end of month), in months."""
    monthly = (1.0 + np.asarray(annual_discount_rate, dtype=np.float64)) ** (1.0 / 12.0) - 1.0
    h = np.asarray(horizon_months, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = -np.expm1(-h * np.log1p(monthly)) / monthly
    return np.where(monthly > 0, factor, h)


def entry_value(expected_margin_per_month: np.ndarray, entry_cost: np.ndarray,
                terms: EntryTerms) -> np.ndarray:
    """Expected value of entering, USD: ``annuity * margin - cost`` (enter when > 0).

    Args:
        expected_margin_per_month: ``[W, n]`` candidate's expected margin, USD/month.
        entry_cost: ``[W, n]`` or ``[W, 1]`` (from :func:`entrant_start`), USD.
        terms: entry terms (horizon, discount).

    Returns:
        ``[W, n]`` value, USD.
    """
    factor = _world(annuity_factor(terms.horizon_months, terms.annual_discount_rate), 2)
    return factor * expected_margin_per_month - entry_cost


def entrant_name(index: int, home_region: str) -> str:
    """Name of the ``index``-th entrant of a world: ``Entrant#<index>-<home>``.

    ``#`` is outside ``[A-Za-z0-9_-]``, so no scenario name can equal it; the index is digits
    ended by the first ``-``, so distinct indices (one counter per world) give distinct names.
    """
    if index < 0 or not SCENARIO_NAME_PATTERN.fullmatch(home_region):
        raise ValueError("index must be >= 0 and home_region a region name")
    return f"Entrant#{int(index)}-{home_region}"


def update_negative_months(months_negative: np.ndarray, cash: np.ndarray,
                           alive: np.ndarray,
                           operating_profit: np.ndarray | None = None) -> np.ndarray:
    """Consecutive months out of money, ``[W, F]`` (reset otherwise or when dead).

    Out of money: cash below zero, or (when ``operating_profit`` is given) cash at zero with
    no operating profit to live on. Without the second case a lab that had spent its last
    dollar and earned nothing sat at exactly zero cash for ever (R&D never takes cash below
    zero), neither exiting nor distressed enough to matter.
    """
    broke = cash < 0
    if operating_profit is not None:
        broke = broke | ((cash <= 0) & (np.asarray(operating_profit) <= 0))
    return np.where(np.asarray(alive, dtype=bool) & broke, months_negative + 1, 0)


def exits_due(months_negative: np.ndarray, alive: np.ndarray, round_raised: np.ndarray,
              terms: ExitTerms) -> np.ndarray:
    """``[W, F]`` bool: alive, cash negative ``exit_after_months`` months, no round this month."""
    return (np.asarray(alive, dtype=bool) & (round_raised <= 0)
            & (months_negative >= _world(terms.exit_after_months)))


def distressed(cash: np.ndarray, burn: np.ndarray, alive: np.ndarray,
               round_offered: np.ndarray, terms: ExitTerms) -> np.ndarray:
    """``[W, F]`` bool: alive, no round available, cash below ``distress_runway_months`` burn.

    A firm with cash at or below zero is below any runway.
    """
    low = (cash < _world(terms.distress_runway_months) * burn) | (cash <= 0)
    return np.asarray(alive, dtype=bool) & (round_offered <= 0) & low


def acquisition_price(run_rate: np.ndarray, terms: ExitTerms) -> np.ndarray:
    """Price of a distressed firm, USD: ``multiple * run_rate + talent_price`` (``[W, F]``)."""
    return (_world(terms.price_run_rate_multiple) * np.maximum(run_rate, 0.0)
            + _world(terms.talent_price_usd))


def pick_target(is_distressed: np.ndarray, cash: np.ndarray) -> np.ndarray:
    """``[W]`` int: the distressed firm with the least cash per world, -1 where none.

    One acquisition per world and month (assumption): the others wait or exit.
    """
    masked = np.where(is_distressed, cash, np.inf)
    target = np.argmin(masked, axis=-1)
    return np.where(is_distressed.any(axis=-1), target, -1)


def pick_acquirer(target: np.ndarray, cash: np.ndarray, alive: np.ndarray,
                  value_to_acquirer: np.ndarray, price: np.ndarray) -> np.ndarray:
    """``[W]`` int: the richest alive firm that values the target above its cost and can pay.

    The cost to the acquirer is ``price + max(-target_cash, 0)`` (it assumes the debts).

    Args:
        target: ``[W]`` target firm, -1 for none.
        cash: ``[W, F]`` cash (USD or cents, as ``price``).
        alive: ``[W, F]`` bool.
        value_to_acquirer: ``[W, F]`` value of the target's users and capability to each firm
            (the caller's demand model), same unit as ``price``.
        price: ``[W]`` price of the target.

    Returns:
        ``[W]`` acquirer, -1 where no target or no buyer.
    """
    f = cash.shape[-1]
    has = target >= 0
    safe = np.where(has, target, 0)
    target_cash = np.take_along_axis(cash, safe[:, None], axis=-1)[:, 0]
    cost = price + np.maximum(-target_cash, 0)
    buyer = (np.asarray(alive, dtype=bool) & (np.arange(f) != safe[:, None])
             & (value_to_acquirer > cost[:, None]) & (cash >= cost[:, None]) & has[:, None])
    richest = np.argmax(np.where(buyer, cash, -np.inf), axis=-1)
    return np.where(buyer.any(axis=-1), richest, -1)


def acquire(owner: np.ndarray, cash: np.ndarray, alive: np.ndarray, target: np.ndarray,
            acquirer: np.ndarray, price: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Absorb ``target`` into ``acquirer`` in every world where ``target >= 0``.

    The target's product lines (and so their adopters) move to the acquirer; the acquirer
    pays ``price`` and takes the target's cash and debts; the dead target row keeps ``price``
    (its shareholders' proceeds), so cash summed over all rows is unchanged (exactly, with
    int64 cents). Book ``cash_after - cash_before`` as the ``acquisition`` flow.

    Args:
        owner: ``[W, K]`` firm index of each product line.
        cash: ``[W, F]`` cash, int64 cents (float USD works, exact only up to rounding).
        alive: ``[W, F]`` bool.
        target: ``[W]`` absorbed firm, -1 for none.
        acquirer: ``[W]`` buyer (ignored where ``target < 0``).
        price: ``[W]`` price, same unit and dtype as ``cash``.

    Returns:
        ``(owner, cash, alive)`` new arrays.
    """
    w, f = cash.shape
    has = np.asarray(target) >= 0
    rows = np.arange(w)[has]
    tgt, acq = np.asarray(target)[has], np.asarray(acquirer)[has]
    if np.any((acq < 0) | (acq >= f) | (acq == tgt) | (tgt >= f)) or not (
            np.all(alive[rows, tgt]) and np.all(alive[rows, acq])):
        raise ValueError("acquisition needs distinct, alive target and acquirer")
    moved = has[:, None] & (owner == np.where(has, target, -1)[:, None])
    new_owner = np.where(moved, np.where(has, acquirer, 0)[:, None], owner)
    new_cash = cash.copy()
    deal = np.asarray(price)[has]
    deal = (np.rint(deal) if np.issubdtype(cash.dtype, np.integer) else deal).astype(cash.dtype)
    new_cash[rows, acq] += new_cash[rows, tgt] - deal
    new_cash[rows, tgt] = deal
    new_alive = np.asarray(alive, dtype=bool).copy()
    new_alive[rows, tgt] = False
    return new_owner, new_cash, new_alive


def retire_firms(alive: np.ndarray, product_alive: np.ndarray, owner: np.ndarray,
                 exiting: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exit: the firms in ``exiting[W, F]`` die with their product lines (``[W, K]``).

    Their adopters return to the outside option in the demand model (the caller's step).
    """
    owned_by_exiting = np.take_along_axis(exiting, np.clip(owner, 0, None), axis=-1) & (owner >= 0)
    return (np.asarray(alive, dtype=bool) & ~exiting,
            np.asarray(product_alive, dtype=bool) & ~owned_by_exiting)
