"""Contributor communities and open ecosystems (MODEL.md 6.4; Lerner & Tirole 2002 motives).

A community (developers, heavy-tailed sizes) works on one open family or none. With probability
``mu`` a month (or when its family is no longer open, alive and allowed to its region) it
reconsiders and picks by a logit (version 1's rule, with the ecosystem size ``D`` as the peer
term):

    V[w, r, k] = a_q q_k + a_n ln(1 + D_k) - a_l licence_k - a_r legal_risk[r, k]
    V[w, r, 0] = outside utility (the caller's: v_r + a_q q_ref(t), v_r inverted at month 0)

The choice inverts the logit CDF with a caller-given uniform, so results do not depend on the
batch of worlds. Effort of family k, ``E_k = sum size * productivity * (1 - friction_r)`` over its
communities whose region may still work on it (``contributor_allowed``: a ban with
``allow_contributors = false`` removes that region's effort at once). Effort raises the family's
capability by ``g_c (E/E0)^theta`` points a month (:func:`community_gain`, used by
``capability.capability_gain``) and its ecosystem of derivatives and tools,
``D' = (1 - delta) D + rho E`` (steady state ``rho E / delta``), which enters developers' utility as
``d_s ln(1 + D)`` (MODEL.md 4.3; :func:`ecosystem_utility`).

Axes: worlds ``W``, regions ``R``, segments ``S``, families (product lines) ``K``, communities
``C``. A parameter that is one number per world is a float or ``[W]``. Derivations and
calibration: ``docs/mechanisms/capability-and-ecosystems.md``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NO_FAMILY", "COMMUNITY_PRODUCTIVITY", "EFFORT_SCALE", "EFFORT_ELASTICITY", "DERIVATIVE_DECAY",
    "DERIVATIVE_RATE", "CAPABILITY_WEIGHT", "COMMUNITY_WEIGHT", "LICENCE_WEIGHT", "RECONSIDER_RATE",
    "community_gain", "choice_utilities",
    "outside_utility_for_engaged_share", "choice_probabilities", "choose_families",
    "family_effort", "ecosystem_size_step", "steady_state_ecosystem_size", "ecosystem_utility",
    "open_share_elasticity", "open_share_elasticity_steady_state",
]

#: ``family`` of a community that works on no open family.
NO_FAMILY = -1

# ---------------------------------------------------------------- defaults (sources in the doc)
#: g_c: ECI points a month a family gains at effort E0. Assumption: a tenth of the frontier's
#: post-2024-04 pace (Epoch AI: 15 points a year), so contributors are worth ~1 month of gap.
COMMUNITY_PRODUCTIVITY = 0.125
#: E0: effort (developer-months a month) of the largest open ecosystem in mid-2025. Assumption
#: (version 1's effort_scale); rho below is set from it, so only D/E0 ratios are calibrated.
EFFORT_SCALE = 2.0e4
#: theta: diminishing returns of effort in capability. Assumption (version 1).
EFFORT_ELASTICITY = 0.5
#: delta: share of live derivatives that fall out of use a month. Assumption: a base generation
#: is superseded in about a year (Qwen2 2024-06 -> Qwen2.5 2024-09 -> Qwen3 2025-04), half-life
#: 12 months.
DERIVATIVE_DECAY = float(np.log(2.0) / 12.0)
#: rho: derivatives a developer-month. Calibrated so that E0 sustains Qwen's >113k Hugging Face
#: derivatives in mid-2025 (HF retrospective [S]): rho = delta * 113,000 / E0.
DERIVATIVE_RATE = DERIVATIVE_DECAY * 113_000.0 / EFFORT_SCALE
#: a_n, a_l: utility per unit of ln(1 + D) and of licence restrictiveness; mu: reconsideration
#: a month. Assumptions kept from version 1's ``contributors`` defaults (Lerner & Tirole motives).
COMMUNITY_WEIGHT, LICENCE_WEIGHT, RECONSIDER_RATE = 0.3, 1.0, 0.1
#: a_q: contributors' utility per ECI point. Version 1's 0.15 per point at ~10 points a year,
#: rescaled to 15 a year so a month of frontier progress is worth the same.
CAPABILITY_WEIGHT = 0.15 * 10.0 / 15.0


def _per_world(value: float | np.ndarray, ndim: int) -> np.ndarray:
    """A per-world scalar parameter (float or ``[W]``) shaped to broadcast against ``ndim`` axes."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        return arr.reshape(arr.shape + (1,) * (ndim - 1))
    return arr


def community_gain(effort: np.ndarray,
                   community_productivity: float | np.ndarray = COMMUNITY_PRODUCTIVITY,
                   effort_scale: float | np.ndarray = EFFORT_SCALE,
                   effort_elasticity: float | np.ndarray = EFFORT_ELASTICITY) -> np.ndarray:
    """Capability a family gains a month from its contributors: ``g_c (E / E0)^theta``.

    Exactly 0 where ``E = 0`` (also for ``theta = 0``): no contributors, no gain.

    Args:
        effort: ``[W, K]`` effort, developer-months a month (``>= 0``).
        community_productivity: g_c, ECI points a month at E0 (float or ``[W]``).
        effort_scale: E0, developer-months a month (``> 0``; float or ``[W]``).
        effort_elasticity: theta in [0, 1] (float or ``[W]``).

    Returns:
        ``[W, K]`` points a month.
    """
    e = np.asarray(effort, dtype=float)
    if np.any(e < 0):
        raise ValueError("effort must be >= 0")
    ratio = e / _per_world(effort_scale, 2)
    theta = np.broadcast_to(_per_world(effort_elasticity, 2), ratio.shape)
    powered = np.power(ratio, theta, out=np.zeros(ratio.shape), where=ratio > 0)
    return _per_world(community_productivity, 2) * powered


def choice_utilities(capability: np.ndarray, ecosystem_size: np.ndarray, licence: np.ndarray,
                     family_open: np.ndarray, contributor_allowed: np.ndarray,
                     capability_weight: float | np.ndarray = CAPABILITY_WEIGHT,
                     community_weight: float | np.ndarray = COMMUNITY_WEIGHT,
                     licence_weight: float | np.ndarray = LICENCE_WEIGHT,
                     legal_risk: np.ndarray | None = None,
                     legal_risk_weight: float | np.ndarray = 1.0) -> np.ndarray:
    """Systematic utility of each family to a region's communities (``-inf`` if unavailable).

    ``V = a_q q + a_n ln(1 + D) - a_l licence - a_r legal_risk``: career value of a good model,
    peers and visibility, licence terms, legal exposure (Lerner & Tirole 2002). Weights are
    version 1's ``contributors`` defaults, ``a_q`` rescaled to ECI points.

    Args:
        capability: ``[W, K]`` ECI points.
        ecosystem_size: ``[W, K]`` derivatives D (``>= 0``).
        licence: ``[W, K]`` or ``[K]`` restrictiveness in [0, 1].
        family_open: ``[W, K]`` open and alive.
        contributor_allowed: ``[W, R, K]`` or ``[R, K]``: region r's contributors may work on k.
        capability_weight: a_q, utility per point (float or ``[W]``).
        community_weight: a_n, utility per unit of ``ln(1 + D)`` (float or ``[W]``).
        licence_weight: a_l (float or ``[W]``).
        legal_risk: ``[W, R, K]`` or ``[R, K]`` legal risk in [0, 1]; None: none.
        legal_risk_weight: a_r (float or ``[W]``).

    Returns:
        ``[W, R, K]`` utilities.
    """
    q = np.asarray(capability, dtype=float)
    size = np.asarray(ecosystem_size, dtype=float)
    if np.any(size < 0):
        raise ValueError("ecosystem_size must be >= 0")
    value = (_per_world(capability_weight, 2) * q
             + _per_world(community_weight, 2) * np.log1p(size)
             - _per_world(licence_weight, 2) * np.asarray(licence, dtype=float))[:, None, :]
    if legal_risk is not None:
        value = value - _per_world(legal_risk_weight, 3) * np.asarray(legal_risk, dtype=float)
    available = np.asarray(family_open, bool)[:, None, :] & np.asarray(contributor_allowed, bool)
    value = np.broadcast_to(value, available.shape)
    return np.where(available, value, -np.inf)


def _cumulative_weights(inside_utility: np.ndarray, outside_utility: np.ndarray) -> np.ndarray:
    """``[W, R, K+1]`` cumulative sums of ``exp(V - max V)``, option 0 = no family."""
    outside = np.asarray(outside_utility, dtype=float)
    if not np.all(np.isfinite(outside)):
        raise ValueError("outside_utility must be finite")
    values = np.concatenate([outside[..., None], np.asarray(inside_utility, dtype=float)], -1)
    top = values.max(axis=-1, keepdims=True)                      # finite: the outside is
    # a sequential cumulative sum (not a pairwise one) keeps each world's result independent of
    # how many worlds share the call
    return np.cumsum(np.exp(values - top), axis=-1)


def outside_utility_for_engaged_share(inside_utility: np.ndarray,
                                      engaged_share: float | np.ndarray) -> np.ndarray:
    """Outside utility at which a share ``s`` of communities engages: ``LSE(V) + ln((1-s)/s)``.

    Used at month 0 (version 1's inversion); subtract ``a_q q_ref(0)`` to get the constant
    ``v_r`` the outside option keeps while it tracks the frontier.

    Args:
        inside_utility: ``[W, R, K]`` from :func:`choice_utilities`.
        engaged_share: In (0, 1) (float, ``[W]`` or ``[W, R]``).

    Returns:
        ``[W, R]`` outside utilities; 0 where a region has no available family.
    """
    share = np.asarray(engaged_share, dtype=float)
    if np.any((share <= 0) | (share >= 1)):
        raise ValueError("engaged_share must be in (0, 1)")
    share = share[:, None] if share.ndim == 1 else share
    v = np.asarray(inside_utility, dtype=float)
    any_available = np.isfinite(v).any(axis=-1)
    top = np.where(any_available, v.max(axis=-1), 0.0)
    # exp(-inf) = 0; the +1 where nothing is available only keeps the log finite
    lse = top + np.log(np.exp(v - top[..., None]).sum(axis=-1) + ~any_available)
    return np.where(any_available, lse + np.log((1.0 - share) / share), 0.0)


def choice_probabilities(inside_utility: np.ndarray, outside_utility: np.ndarray) -> np.ndarray:
    """Logit probabilities of a reconsidering community of each region.

    Args:
        inside_utility: ``[W, R, K]`` (``-inf`` for unavailable families).
        outside_utility: ``[W, R]`` finite.

    Returns:
        ``[W, R, K+1]``: column 0 no family, column ``k+1`` family ``k``.
    """
    cum = _cumulative_weights(inside_utility, outside_utility)
    weights = np.diff(cum, axis=-1, prepend=0.0)
    return weights / cum[..., -1:]


def choose_families(family: np.ndarray, region: np.ndarray, reconsider_uniform: np.ndarray,
                    choice_uniform: np.ndarray, inside_utility: np.ndarray,
                    outside_utility: np.ndarray,
                    reconsider_rate: float | np.ndarray = RECONSIDER_RATE) -> np.ndarray:
    """Communities' families after this month's reconsideration.

    A community reconsiders when its reconsideration uniform is below ``mu`` or when its family
    is no longer available to its region (``-inf`` utility: closed, exited or banned for its
    contributors); it then takes the option whose logit CDF interval contains its choice uniform.

    Args:
        family: ``[W, C]`` current family index or :data:`NO_FAMILY`.
        region: ``[W, C]`` or ``[C]`` region index of each community.
        reconsider_uniform: ``[W, C]`` uniforms in [0, 1).
        choice_uniform: ``[W, C]`` uniforms in [0, 1).
        inside_utility: ``[W, R, K]`` from :func:`choice_utilities`.
        outside_utility: ``[W, R]`` finite.
        reconsider_rate: mu, per month (float or ``[W]``).

    Returns:
        ``[W, C]`` new family indices (int64).
    """
    family = np.asarray(family, dtype=np.int64)
    u_move = np.asarray(reconsider_uniform, dtype=float)
    u_pick = np.asarray(choice_uniform, dtype=float)
    for u in (u_move, u_pick):
        if np.any((u < 0) | (u >= 1)):
            raise ValueError("uniforms must be in [0, 1)")
    n_worlds, n_comm = family.shape
    region = np.broadcast_to(np.asarray(region, dtype=np.int64), (n_worlds, n_comm))
    worlds = np.arange(n_worlds)[:, None]
    inside = np.asarray(inside_utility, dtype=float)
    stale = (family != NO_FAMILY) & ~np.isfinite(
        inside[worlds, region, np.maximum(family, 0)])
    moving = (u_move < _per_world(reconsider_rate, 2)) | stale
    w_move, c_move = np.nonzero(moving)
    # only the movers' CDF rows are gathered: [movers, K+1], not [W, C, K+1]
    cum = _cumulative_weights(inside, outside_utility)[w_move, region[w_move, c_move]]
    # first option whose cumulative weight exceeds u * total: zero-probability options never win
    option = (cum <= (u_pick[w_move, c_move] * cum[:, -1])[:, None]).sum(axis=-1)
    new_family = family.copy()
    new_family[w_move, c_move] = np.minimum(option, cum.shape[-1] - 1) - 1
    return new_family


def family_effort(family: np.ndarray, region: np.ndarray, size: np.ndarray,
                  productivity: float | np.ndarray, legal_friction: np.ndarray,
                  family_open: np.ndarray, contributor_allowed: np.ndarray,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Effort each family receives, in total and by its contributors' region.

    ``E[w, r, k] = sum over communities of region r on k of size * productivity *
    (1 - legal_friction[r])``, counted only while k is open and alive and allowed to region r's
    contributors.

    Args:
        family: ``[W, C]`` family index or :data:`NO_FAMILY`.
        region: ``[W, C]`` or ``[C]`` region index.
        size: ``[W, C]`` or ``[C]`` developers.
        productivity: ``contributors.productivity`` >= 0, effort a developer a month (float or
            ``[W]``); 0 switches communities off.
        legal_friction: ``[W, R]`` or ``[R]`` share of effort lost to legal uncertainty, [0, 1].
        family_open: ``[W, K]`` open and alive.
        contributor_allowed: ``[W, R, K]`` or ``[R, K]``.

    Returns:
        ``(effort[W, K], effort_by_region[W, R, K])`` developer-months a month; the first is
        the second summed over regions.
    """
    family = np.asarray(family, dtype=np.int64)
    n_worlds, n_comm = family.shape
    prod = _per_world(productivity, 2)
    if np.any(prod < 0):
        raise ValueError("productivity must be >= 0")
    friction = np.asarray(legal_friction, dtype=float)
    if np.any((friction < 0) | (friction > 1)):
        raise ValueError("legal_friction must be in [0, 1]")
    is_open = np.asarray(family_open, dtype=bool)
    allowed = np.broadcast_to(np.asarray(contributor_allowed, dtype=bool),
                              (n_worlds,) + np.shape(contributor_allowed)[-2:])
    n_regions, n_families = allowed.shape[1:]
    friction = np.broadcast_to(friction, (n_worlds, n_regions))
    region = np.broadcast_to(np.asarray(region, dtype=np.int64), (n_worlds, n_comm))
    worlds = np.arange(n_worlds)[:, None]
    safe_family = np.maximum(family, 0)
    counts = ((family != NO_FAMILY) & is_open[worlds, safe_family]
              & allowed[worlds, region, safe_family])
    supplied = (np.broadcast_to(np.asarray(size, dtype=float), (n_worlds, n_comm)) * prod
                * (1.0 - friction[worlds, region]))
    bins = (worlds * n_regions + region) * n_families + safe_family
    # bincount adds in community order within each bin: a world's sums do not depend on the batch
    by_region = np.bincount(bins[counts], weights=supplied[counts],
                            minlength=n_worlds * n_regions * n_families)
    by_region = by_region.reshape(n_worlds, n_regions, n_families)
    return by_region.sum(axis=1), by_region


def ecosystem_size_step(ecosystem_size: np.ndarray, effort: np.ndarray,
                        derivative_rate: float | np.ndarray = DERIVATIVE_RATE,
                        derivative_decay: float | np.ndarray = DERIVATIVE_DECAY) -> np.ndarray:
    """Next month's ecosystem size: ``D' = (1 - delta) D + rho E``.

    Args:
        ecosystem_size: ``[W, K]`` live derivatives and tools D.
        effort: ``[W, K]`` this month's effort, developer-months.
        derivative_rate: rho, derivatives a developer-month (float, ``[K]`` or ``[W, K]``: a
            family with small models gets more derivatives per unit of effort).
        derivative_decay: delta in [0, 1], per month (float or ``[W]``).

    Returns:
        ``[W, K]`` D next month (``>= 0``).
    """
    decay = _per_world(derivative_decay, 2)
    if np.any((decay < 0) | (decay > 1)):
        raise ValueError("derivative_decay must be in [0, 1]")
    rate = np.asarray(derivative_rate, dtype=float)
    if np.any(rate < 0):
        raise ValueError("derivative_rate must be >= 0")
    return (1.0 - decay) * np.asarray(ecosystem_size, dtype=float) + rate * np.asarray(effort)


def steady_state_ecosystem_size(effort: np.ndarray,
                                derivative_rate: float | np.ndarray = DERIVATIVE_RATE,
                                derivative_decay: float | np.ndarray = DERIVATIVE_DECAY,
                                ) -> np.ndarray:
    """``D* = rho E / delta``, reached at rate delta: ``D_t - D* = (1 - delta)^t (D_0 - D*)``.

    Args:
        effort: ``[W, K]`` constant effort, developer-months a month.
        derivative_rate: rho (float, ``[K]`` or ``[W, K]``).
        derivative_decay: delta in (0, 1] (float or ``[W]``).

    Returns:
        ``[W, K]`` steady-state ecosystem size.
    """
    decay = _per_world(derivative_decay, 2)
    if np.any(decay <= 0):
        raise ValueError("derivative_decay must be > 0 for a steady state")
    return np.asarray(derivative_rate, dtype=float) * np.asarray(effort, dtype=float) / decay


def ecosystem_utility(ecosystem_size: np.ndarray, ecosystem_weight: float | np.ndarray,
                      ) -> np.ndarray:
    """Developers' utility from a family's ecosystem, ``d_s ln(1 + D_k)`` (MODEL.md 4.3).

    Args:
        ecosystem_size: ``[W, K]`` D (0 for closed lines).
        ecosystem_weight: d_s per segment, ``[S]`` or ``[W, S]``.

    Returns:
        ``[W, S, K]`` utility.
    """
    weight = np.asarray(ecosystem_weight, dtype=float)
    weight = weight[None, :] if weight.ndim == 1 else np.atleast_2d(weight)
    return weight[:, :, None] * np.log1p(np.asarray(ecosystem_size, dtype=float))[:, None, :]


def open_share_elasticity(share_low: np.ndarray, share_high: np.ndarray,
                          productivity_low: float | np.ndarray,
                          productivity_high: float | np.ndarray) -> np.ndarray:
    """Arc elasticity ``d ln open_share / d ln productivity`` from two paired runs.

    Run the model twice with common random numbers at ``p (1 - h)`` and ``p (1 + h)`` (h = 0.1),
    everything else equal, and pass the two open usage shares of the same region, segment and
    month. Effort is proportional to productivity at given choices, so this is also the
    elasticity to contributor effort.

    Args:
        share_low: Open share at the lower productivity (any shape).
        share_high: Open share at the higher productivity (same shape).
        productivity_low: Lower productivity (``> 0``).
        productivity_high: Higher productivity (``> productivity_low``).

    Returns:
        ``(ln s_high - ln s_low) / (ln p_high - ln p_low)``; NaN where a share is not positive.
    """
    p_lo = np.asarray(productivity_low, dtype=float)
    p_hi = np.asarray(productivity_high, dtype=float)
    if np.any(p_lo <= 0) or np.any(p_hi <= p_lo):
        raise ValueError("need 0 < productivity_low < productivity_high")
    lo, hi = np.asarray(share_low, dtype=float), np.asarray(share_high, dtype=float)
    ok = (lo > 0) & (hi > 0)
    ratio = np.divide(hi, lo, out=np.ones(np.broadcast(lo, hi).shape), where=ok)
    return np.where(ok, np.log(ratio) / np.log(p_hi / p_lo), np.nan)


def open_share_elasticity_steady_state(open_share: np.ndarray,
                                       ecosystem_weight: float | np.ndarray,
                                       capability_weight: float | np.ndarray,
                                       community_gain_now: float | np.ndarray,
                                       effort_elasticity: float | np.ndarray = EFFORT_ELASTICITY,
                                       kappa_closed: float | np.ndarray = 0.1) -> np.ndarray:
    """Analytic benchmark for :func:`open_share_elasticity` (steady state, fixed prices).

    ``eps = (1 - s) [d_s D/(1 + D) + beta_s theta g_c (E/E0)^theta / kappa_closed]`` with
    ``D/(1+D) ~ 1``: a 1 % rise in effort raises ``ln(1 + D)`` by 1 % of a unit and the best open
    line's steady-state capability by ``theta * community_gain / kappa_closed`` % points. It
    ignores price, network and contributor-choice feedbacks, which the paired runs include.

    Args:
        open_share: Open usage share s (aggregate of open lines treated as one option).
        ecosystem_weight: d_s.
        capability_weight: beta_s, utility per ECI point.
        community_gain_now: ``g_c (E/E0)^theta`` of the best open family, points a month.
        effort_elasticity: theta.
        kappa_closed: Pull toward closed models, per month (``> 0``).

    Returns:
        The elasticity.
    """
    kappa = np.asarray(kappa_closed, dtype=float)
    if np.any(kappa <= 0):
        raise ValueError("kappa_closed must be > 0")
    capability_channel = (np.asarray(capability_weight, dtype=float)
                          * np.asarray(effort_elasticity, dtype=float)
                          * np.asarray(community_gain_now, dtype=float) / kappa)
    return (1.0 - np.asarray(open_share, dtype=float)) * (
        np.asarray(ecosystem_weight, dtype=float) + capability_channel)
