"""Contributor communities' choice of an open family (MODEL.md 6.4; Lerner & Tirole 2002).

A community works on one open family or none (:data:`NO_FAMILY`). With probability ``mu`` a
month (or when its family is no longer open, alive and allowed to its region) it reconsiders
and picks by a logit (version 1's rule, with the ecosystem size ``D`` as the peer term):

    V[w, r, k] = a_q q_k + a_n ln(1 + D_k) - a_l licence_k - a_r legal_risk[r, k]
    V[w, r, 0] = outside utility (the caller's: v_r + a_q q_ref(t), v_r inverted at month 0)

The choice inverts the logit CDF with a caller-given uniform, so results do not depend on the
batch of worlds. What the chosen families then receive (effort, capability, ecosystem size) is
``sim.mechanisms.ecosystem``'s; the choice is a sub-mechanism of its own, with its own
defaults, and that module re-exports every name here. Axes: worlds ``W``, regions ``R``,
families (product lines) ``K``, communities ``C``. Derivations and calibration:
``docs/mechanisms/capability-and-ecosystems.md`` 4.1.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NO_FAMILY", "CAPABILITY_WEIGHT", "COMMUNITY_WEIGHT", "LICENCE_WEIGHT", "RECONSIDER_RATE",
    "per_world", "choice_utilities", "outside_utility_for_engaged_share", "choice_probabilities",
    "choose_families",
]

#: ``family`` of a community that works on no open family.
NO_FAMILY = -1

# ---------------------------------------------------------------- defaults (sources in the doc)
#: a_n, a_l: utility per unit of ln(1 + D) and of licence restrictiveness; mu: reconsideration
#: a month. Assumptions kept from version 1's ``contributors`` defaults (Lerner & Tirole motives).
COMMUNITY_WEIGHT, LICENCE_WEIGHT, RECONSIDER_RATE = 0.3, 1.0, 0.1
#: a_q: contributors' utility per ECI point. Version 1's 0.15 per point at ~10 points a year,
#: rescaled to 15 a year so a month of frontier progress is worth the same.
CAPABILITY_WEIGHT = 0.15 * 10.0 / 15.0


def per_world(value: float | np.ndarray, ndim: int) -> np.ndarray:
    """A per-world scalar parameter (float or ``[W]``) shaped to broadcast against ``ndim`` axes.

    Shared with ``sim.mechanisms.ecosystem``, which imports it from here (the lower module).
    """
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 1:
        return arr.reshape(arr.shape + (1,) * (ndim - 1))
    return arr


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
    value = (per_world(capability_weight, 2) * q
             + per_world(community_weight, 2) * np.log1p(size)
             - per_world(licence_weight, 2) * np.asarray(licence, dtype=float))[:, None, :]
    if legal_risk is not None:
        value = value - per_world(legal_risk_weight, 3) * np.asarray(legal_risk, dtype=float)
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
    moving = (u_move < per_world(reconsider_rate, 2)) | stale
    w_move, c_move = np.nonzero(moving)
    # only the movers' CDF rows are gathered: [movers, K+1], not [W, C, K+1]
    cum = _cumulative_weights(inside, outside_utility)[w_move, region[w_move, c_move]]
    # first option whose cumulative weight exceeds u * total: zero-probability options never win
    option = (cum <= (u_pick[w_move, c_move] * cum[:, -1])[:, None]).sum(axis=-1)
    new_family = family.copy()
    new_family[w_move, c_move] = np.minimum(option, cum.shape[-1] - 1) - 1
    return new_family
