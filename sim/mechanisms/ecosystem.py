"""Contributor communities and open ecosystems (MODEL.md 6.4; Lerner & Tirole 2002 motives).

A community (developers, heavy-tailed sizes) works on one open family or none, chosen by a
logit in capability, ecosystem size, licence and legal risk that it reconsiders with
probability ``mu`` a month (``sim.mechanisms.contributor_choice``, the choice and its defaults;
its names are re-exported here). Effort of family k,
``E_k = sum size * productivity * (1 - friction_r)`` over its communities whose region may
still work on it (``contributor_allowed``: a ban with ``allow_contributors = false`` removes
that region's effort at once). Effort raises the family's
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

from sim.mechanisms.contributor_choice import (
    CAPABILITY_WEIGHT,
    COMMUNITY_WEIGHT,
    LICENCE_WEIGHT,
    NO_FAMILY,
    RECONSIDER_RATE,
    choice_probabilities,
    choice_utilities,
    choose_families,
    outside_utility_for_engaged_share,
    per_world,
)

__all__ = [
    "NO_FAMILY", "COMMUNITY_PRODUCTIVITY", "EFFORT_SCALE", "EFFORT_ELASTICITY", "DERIVATIVE_DECAY",
    "DERIVATIVE_RATE", "CAPABILITY_WEIGHT", "COMMUNITY_WEIGHT", "LICENCE_WEIGHT", "RECONSIDER_RATE",
    "community_gain", "choice_utilities",
    "outside_utility_for_engaged_share", "choice_probabilities", "choose_families",
    "family_effort", "ecosystem_size_step", "steady_state_ecosystem_size", "ecosystem_utility",
    "open_share_elasticity", "open_share_elasticity_steady_state",
]

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
    ratio = e / per_world(effort_scale, 2)
    theta = np.broadcast_to(per_world(effort_elasticity, 2), ratio.shape)
    powered = np.power(ratio, theta, out=np.zeros(ratio.shape), where=ratio > 0)
    return per_world(community_productivity, 2) * powered


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
    prod = per_world(productivity, 2)
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
    decay = per_world(derivative_decay, 2)
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
    decay = per_world(derivative_decay, 2)
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
