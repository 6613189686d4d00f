"""Adopters become aware (Bass) and choose (logit with inertia), for W worlds at once.

MODEL.md 4.1 and 4.3. Adopters are counts ``counts[W, R, S, G, O]`` (option 0 = outside /
in-house, option ``k + 1`` = product line ``k``) plus ``unaware[W, R, S, G]``. A
reconsidering adopter at option ``j`` picks ``k`` with probability
``softmax_k(U_k - c [j >= 1 and k != j])`` over the options available to its group. With
``w_k = exp(U_k - shift)`` (exactly 0 when unavailable), ``a = exp(-c)`` and ``W = sum w``,
row ``j >= 1`` is ``(a w_k + (1 - a) w_j [k == j]) / (a W + (1 - a) w_j)`` and row 0 is
``w_k / W`` (no switching cost from the outside option). The chain is reversible with
stationary shares ``pi_j ~ x_j (a + (1 - a) x_j)`` (``j >= 1``), ``pi_0 ~ a x_0``, where
``x = w / W`` are the logit shares; :func:`invert_brands` solves that relation for ``x``.

Two engines: ``"expected"`` moves expected counts; ``"exact"`` draws binomial and
multinomial counts with a generator reset, per (world, region), to a state keyed by
(seed, replication, mechanism, month, region) (``sim.streams``), so a world's draws do not
depend on the batch it is stepped in.
"""

from __future__ import annotations

import numpy as np

from sim.engine.params import Params
from sim.engine.state import State
from sim.mechanisms.diffusion import awareness_probability
from sim.streams import KeyedStreams, Mechanism, keyed_generators

__all__ = ["ENGINES", "TARGET_FLOOR", "utilities", "outside_utility", "choice_weights",
           "stationary_shares", "inclusive_value", "awareness", "invert_brands", "allocate",
           "initial_counts", "require_engine", "whole_counts"]

#: Demand engines.
ENGINES = ("expected", "exact")
#: Share an available option is inverted at when its target is 0 (version 1's rule), so its
#: brand constant stays finite.
TARGET_FLOOR = 1e-9


def require_engine(engine: str) -> None:
    """Raise ``ValueError`` unless ``engine`` names a demand engine (:data:`ENGINES`)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")


# --------------------------------------------------------------------------- utilities


def outside_utility(params: Params, state: State, month: int) -> np.ndarray:
    """``U0[W, R, S]``: in-house use with the closed frontier of ``outside_lag_months`` ago.

    ``U0 = outside_level + beta_s (q_out(t) - q_out(0))``. Month ``t``'s frontier is only
    recorded in its accounting phase, after adopters chose, so ``q_out`` reads the latest
    recorded month ``<= t - 1`` (month 0 at month 0), interpolating linearly between months;
    before step 0 it extrapolates back from step 0 at ``frontier_pace_before`` points a month.
    ``U0(0) = outside_level`` by construction.
    """
    history = state.closed_frontier  # [W, T] ECI points, NaN where not yet recorded
    lag = params.world["outside_lag_months"]
    pace = params.world["frontier_pace_before"]
    n_t = history.shape[1]
    cap = min(max(month - 1, 0), n_t - 1)
    recorded = np.isfinite(history[:, : cap + 1])
    # latest recorded step <= max(t - 1, 0) per world (step 0 is always recorded)
    latest = cap - np.argmax(recorded[:, ::-1], axis=1)

    def reference(t: float | np.ndarray, last: np.ndarray) -> np.ndarray:
        when = np.minimum(t - lag, last)
        lo = np.clip(np.floor(when), 0, None).astype(np.int64)
        hi = np.minimum(lo + 1, last)
        frac = when - lo
        rows = np.arange(history.shape[0])
        inside = history[rows, lo] * (1.0 - frac) + history[rows, hi] * frac
        before = history[:, 0] + when * pace
        return np.where(when >= 0.0, inside, before)

    gain = reference(float(month), latest) - reference(0.0, np.zeros_like(latest))
    beta = params.segment["capability_weight"]  # [W, S] utility per point
    return state.outside_level + beta[:, None, :] * gain[:, None, None]


def utilities(params: Params, state: State, month: int, price_effective: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Utilities of the product lines and of the outside option (MODEL.md 4.3).

    ``U = beta_s q_k - alpha_s ln(price_eff) + omega_s open_k + brand + eta ln(share_f + eps)
    + home_s [home(owner(k)) == r] + d_s ln(1 + D_k)``, ``share_f`` the owner's share of the
    cell's users last month (``state.firm_share``).

    Args:
        params: Parameters of the batch.
        state: State at the start of the choice phase.
        month: Step.
        price_effective: ``[W, R, S, K]`` price entering utility (token segments: USD per M
            tokens; subscription segments: USD a month, floored by the caller). Must be
            positive for every line that is available somewhere; elsewhere (dead rows, lines
            not served) any value: a non-positive or non-finite price gives the price term 0.

    Returns:
        ``(U[W, R, S, K], U0[W, R, S])``, finite for every row (dead and free rows too; they
        are masked by availability in :func:`choice_weights`).
    """
    seg = params.segment
    beta, alpha = seg["capability_weight"][:, None, :, None], seg["price_weight"][:, None, :, None]
    omega, home_bias = seg["open_preference"][:, None, :, None], seg["home_bias"][:, None, :, None]
    ecosystem_weight = seg["ecosystem_weight"][:, None, :, None]
    eta = params.world["network_effect"][:, None, None, None]
    eps = params.world["share_floor"][:, None, None, None]
    n_w, n_r, n_s, n_k = state.brand.shape
    n_f = state.firm_share.shape[-1]
    owner = np.clip(state.owner, 0, n_f - 1)  # free slots may carry a placeholder owner
    valid = np.isfinite(price_effective) & (price_effective > 0.0)
    log_price = np.log(np.where(valid, price_effective, 1.0))
    owner_cell = np.broadcast_to(owner[:, None, None, :], (n_w, n_r, n_s, n_k))
    share = np.take_along_axis(state.firm_share, owner_cell, axis=-1)
    share = np.where(np.isfinite(share), share, 0.0)  # an empty cell's share is NaN
    # tiny: with eps = 0 a firm without users gets a huge finite penalty, never -inf * 0
    network = eta * np.log(np.maximum(share + eps, np.finfo(float).tiny))
    home_of_line = np.take_along_axis(state.home, owner, axis=1)  # [W, K]
    at_home = home_of_line[:, None, :] == np.arange(n_r)[None, :, None]  # [W, R, K]
    capability = np.where(np.isfinite(state.capability), state.capability, 0.0)
    ecosystem = np.log1p(np.maximum(np.nan_to_num(state.ecosystem), 0.0))
    brand = np.where(np.isfinite(state.brand), state.brand, 0.0)
    u = (beta * capability[:, None, None, :] - alpha * log_price
         + omega * state.is_open[:, None, None, :] + brand + network
         + home_bias * at_home[:, :, None, :] + ecosystem_weight * ecosystem[:, None, None, :])
    return u, outside_utility(params, state, month)


# --------------------------------------------------------------------------- logit chain


def choice_weights(u: np.ndarray, u0: np.ndarray, available: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Stable exponentiated utilities per access group.

    Args:
        u: ``[W, R, S, K]`` line utilities.
        u0: ``[W, R, S]`` outside utility.
        available: ``[W, R, S, G, K]`` (or broadcastable) line available to the group.

    Returns:
        ``(weights[W, R, S, G, O], shift[W, R, S, G])``: ``exp(U - shift)``, exactly 0 for
        unavailable options, ``shift`` the largest available utility (so the largest weight
        is 1 and ``ln(sum w) + shift`` is the log-sum-exp).
    """
    full = np.concatenate([u0[..., None], u], axis=-1)[:, :, :, None, :]  # [W, R, S, 1, O]
    avail = np.broadcast_to(available, (*u.shape[:3], np.shape(available)[-2], u.shape[-1]))
    mask = np.concatenate([np.ones((*avail.shape[:-1], 1), dtype=bool), avail], axis=-1)
    masked = np.where(mask, full, -np.inf)
    shift = masked.max(axis=-1)  # finite: the outside option is always available
    return np.exp(masked - shift[..., None]), shift


def stationary_shares(weights: np.ndarray, switching: np.ndarray) -> np.ndarray:
    """Long-run option shares ``[W, R, S, G, O]`` of the chain with fixed weights.

    Detailed balance: ``pi_j ~ w_j (a W + (1 - a) w_j)`` for ``j >= 1`` and
    ``pi_0 ~ a W w_0``; with ``c = 0`` (``a = 1``) this is the logit ``w / W``.
    """
    keep = np.exp(-switching)[..., None, None]
    total = weights.sum(axis=-1, keepdims=True)
    mass = weights * (keep * total + (1.0 - keep) * weights)
    mass[..., 0] = keep[..., 0] * total[..., 0] * weights[..., 0]
    return mass / mass.sum(axis=-1, keepdims=True)


def inclusive_value(weights: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Logit inclusive value ``ln(e^U0 + sum_k e^Uk)``, ``[W, R, S, G]`` (utility units)."""
    return np.log(weights.sum(axis=-1)) + shift


# --------------------------------------------------------------------------- awareness


def awareness(state: State, params: Params, engine: str, streams: KeyedStreams | None,
              month: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Unaware potential adopters become aware; they join option 0 of ``state.counts``.

    The probability is ``awareness_probability(A / P, X / A, p_s, q_s)`` per (W, R, S)
    (``X`` adopters of an inside option, ``A`` aware, ``P`` potential). Where ``P = 0`` the
    aware share passed is 0; where ``A = 0`` the inside ratio ``X / A`` is undefined and is
    replaced by the inside probability a newly aware adopter will have: ``1 - w_0 / W`` of
    ``weights`` (averaged over groups by their unaware counts) when given, else 1 (classic
    Bass). The newly aware must reconsider with certainty this month: pass the return value
    as ``newly`` to :func:`choose`. Mutates ``state.unaware`` and ``state.counts``.

    Args:
        state: State (``potential``, ``unaware``, ``counts``).
        params: Parameters (``bass_p``, ``bass_q`` per month).
        engine: ``"expected"`` (``unaware * prob``) or ``"exact"`` (``Binomial(unaware,
            prob)``, keyed by ``Mechanism.AWARENESS``; needs ``streams``).
        streams: Keyed streams of the batch's worlds (unused by the expected engine).
        month: Step (part of the key).
        weights: Optional ``[W, R, S, G, O]`` this month's option weights.

    Returns:
        ``newly[W, R, S, G]`` adopters who became aware.
    """
    require_engine(engine)
    counts, unaware, potential = state.counts, state.unaware, state.potential
    aware = counts.sum(axis=(3, 4))  # [W, R, S]
    users = counts[..., 1:].sum(axis=(3, 4))
    aware_share = np.zeros_like(aware)
    np.divide(aware, potential, out=aware_share, where=potential > 0)
    if weights is None:
        fallback = np.ones_like(aware)
    else:
        inside_g = 1.0 - weights[..., 0] / weights.sum(axis=-1)  # [W, R, S, G]
        n_unaware = unaware.sum(axis=-1)
        fallback = inside_g.mean(axis=-1)
        np.divide((inside_g * unaware).sum(axis=-1), n_unaware, out=fallback,
                  where=n_unaware > 0)
    inside_ratio = fallback.copy()
    np.divide(users, aware, out=inside_ratio, where=aware > 0)
    # float sums can exceed 1 by an ulp; awareness_probability refuses values outside [0, 1]
    prob = awareness_probability(np.clip(aware_share, 0.0, 1.0), np.clip(inside_ratio, 0.0, 1.0),
                                 params.segment["bass_p"][:, None, :],
                                 params.segment["bass_q"][:, None, :])
    if engine == "expected":
        newly = unaware * prob[..., None]
    else:
        if streams is None:
            raise ValueError("the exact engine needs streams")
        whole = whole_counts(unaware, "unaware")
        newly = np.empty_like(unaware)
        for w, r, generator in keyed_generators(streams, Mechanism.AWARENESS, month,
                                                unaware.shape[1]):
            newly[w, r] = generator.binomial(whole[w, r], prob[w, r, :, None])
    state.unaware -= newly
    counts[..., 0] += newly
    return newly


def whole_counts(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` as int64, refusing negative or fractional counts (the exact engine's input)."""
    rounded = np.rint(x)
    if not (np.all(rounded == x) and np.all(x >= 0)):
        raise ValueError(f"{name} must hold non-negative whole numbers for the exact engine")
    return rounded.astype(np.int64)


# --------------------------------------------------------------------------- step 0


def invert_brands(target: np.ndarray, base_utility: np.ndarray, outside: np.ndarray,
                  switching: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Brand constants whose stationary shares are ``target`` at step 0.

    Version 1 ran a BLP-style contraction; here the detailed-balance relation is solved in
    closed form. With logit shares ``x`` and ``a = exp(-c)``, ``pi_j = x_j (a + (1 - a) x_j)
    / Z`` and ``pi_0 = a x_0 / Z``, so ``x_j = 2 Z pi_j / (a + sqrt(a^2 + 4 (1 - a) Z pi_j))``
    and ``x_0 = Z pi_0 / a``; ``sum x = 1`` is concave and increasing in ``Z``, so Newton's
    method from ``Z = 0`` rises monotonically to the root (to machine precision).

    Args:
        target: ``[W, R, S, O]`` option shares of the cell (floored at
            :data:`TARGET_FLOOR` where available, renormalised over available options).
        base_utility: ``[W, R, S, K]`` line utility without the brand constant.
        outside: ``[W, R, S]`` outside utility at step 0.
        switching: ``[W, R, S]`` switching cost ``c`` (finite, >= 0).
        available: ``[W, R, K]`` available at step 0 (to the most restricted group).

    Returns:
        ``brand[W, R, S, K]``, finite. Lines unavailable in a cell get their mean constant
        over the regions where they are available in the same world and segment, else the
        cell's lowest constant, else 0 (version 1's rule), so a later entry starts plausibly.
    """
    mask = np.concatenate([np.ones((*available.shape[:2], 1), dtype=bool), available],
                          axis=-1)[:, :, None, :]
    mask = np.broadcast_to(mask, target.shape)
    pi = np.where(mask, np.maximum(target, TARGET_FLOOR), 0.0)
    pi = pi / pi.sum(axis=-1, keepdims=True)
    keep = np.exp(-switching)[..., None]  # [W, R, S, 1]

    def shares(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = z * pi[..., 1:]
        root = np.sqrt(keep**2 + 4.0 * (1.0 - keep) * y)
        x = np.concatenate([z * pi[..., :1] / keep, 2.0 * y / (keep + root)], axis=-1)
        slope = np.concatenate([pi[..., :1] / keep, pi[..., 1:] / root], axis=-1)
        return x, slope

    z = np.zeros((*target.shape[:-1], 1))
    for _ in range(200):
        x, slope = shares(z)
        step = (1.0 - x.sum(axis=-1, keepdims=True)) / slope.sum(axis=-1, keepdims=True)
        z = z + step
        if np.all(np.abs(step) <= 1e-15 * z):
            break
    x, _ = shares(z)
    x = x / x.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):  # ln 0 of unavailable lines is replaced below
        utility = outside[..., None] + np.log(x[..., 1:]) - np.log(x[..., :1])
    brand = np.where(mask[..., 1:], utility - base_utility, np.nan)
    return _fill_missing(brand)


def _fill_missing(brand: np.ndarray) -> np.ndarray:
    known = np.isfinite(brand)
    total = np.where(known, brand, 0.0).sum(axis=1, keepdims=True)  # over regions
    count = known.sum(axis=1, keepdims=True)
    mean = np.full(total.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    cell_min = np.where(known, brand, np.inf).min(axis=-1, keepdims=True)
    cell_min = np.where(np.isfinite(cell_min), cell_min, 0.0)
    filled = np.where(known, brand, np.broadcast_to(mean, brand.shape))
    return np.where(np.isfinite(filled), filled, np.broadcast_to(cell_min, brand.shape))


def allocate(total: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split whole totals by shares with the largest-remainder method.

    Args:
        total: ``[...]`` non-negative whole numbers.
        shares: ``[..., n]`` non-negative shares summing to 1 over the last axis.

    Returns:
        ``[..., n]`` non-negative int64 summing exactly to ``total``.
    """
    total = np.rint(total).astype(np.int64)
    raw = total[..., None] * np.maximum(shares, 0.0)
    base = np.floor(raw).astype(np.int64)
    short = total - base.sum(axis=-1)
    order = np.argsort(-(raw - base), axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return base + (rank < short[..., None])


def initial_counts(potential: np.ndarray, aware_share: np.ndarray, adoption_share: np.ndarray,
                   product_shares: np.ndarray, group_fractions: np.ndarray,
                   available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-0 ``unaware[W, R, S, G]`` and ``counts[W, R, S, G, O]``, whole numbers.

    The potential (rounded) is split into groups, then each group into unaware
    (``1 - aware``), outside (``aware - adoption``) and lines (``adoption`` times the line
    shares renormalised over the lines available to the group; a group with none keeps its
    would-be users at the outside option), by the largest-remainder method.

    Args:
        potential: ``[W, R, S]`` potential adopters.
        aware_share: ``[W, R, S]`` share of potential aware.
        adoption_share: ``[W, R, S]`` share of potential using a line (``<= aware_share``).
        product_shares: ``[W, R, S, K]`` line shares of the cell's users.
        group_fractions: ``[R, S, G]`` or ``[W, R, S, G]`` group shares of each cell.
        available: ``[W, R, S, G, K]`` (or broadcastable) line available to the group.

    Returns:
        ``(unaware, counts)`` as float64 whole numbers summing exactly to the rounded
        potential of each cell.

    Raises:
        ValueError: adoption above awareness.
    """
    if np.any(adoption_share > aware_share + 1e-12):
        raise ValueError("adoption share must not exceed aware share")
    n_w, n_r, n_s, n_k = product_shares.shape
    fractions = np.broadcast_to(group_fractions, (n_w, n_r, n_s, group_fractions.shape[-1]))
    groups = allocate(potential, fractions)  # [W, R, S, G]
    avail = np.broadcast_to(available, (*groups.shape, n_k))
    inside = np.where(avail, product_shares[:, :, :, None, :], 0.0)
    mass = inside.sum(axis=-1, keepdims=True)
    inside = np.divide(inside, mass, out=np.zeros_like(inside), where=mass > 0)
    adoption = np.broadcast_to(adoption_share[..., None], groups.shape)
    adoption = np.where(mass[..., 0] > 0, adoption, 0.0)  # nothing to use: stay outside
    aware = np.broadcast_to(aware_share[..., None], groups.shape)
    split = np.concatenate([(1.0 - aware)[..., None], np.maximum(aware - adoption, 0.0)[..., None],
                            adoption[..., None] * inside], axis=-1)
    whole = allocate(groups, split / split.sum(axis=-1, keepdims=True)).astype(np.float64)
    return whole[..., 0], whole[..., 1:]
