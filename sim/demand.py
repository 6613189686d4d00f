"""Adopters' choice: multinomial logit with inertia, on cohort counts (MODEL.md 4.1).

Adopters are counts ``N[region, segment, group, option]`` (option 0 = no model /
in-house; option ``k + 1`` = vendor ``k``; ``group`` = access group, see
:mod:`sim.policies`). Adopters in one cell are exchangeable, so a month's update,
``K ~ Binomial(N, lambda)`` reconsidering and ``Multinomial(K, P[j, .])`` choosing,
is exact in distribution for the individual-level model, and costs the same for
a thousand adopters or a billion.

A reconsidering adopter at ``j`` picks ``k`` with probability
``softmax_k(U_k - c * [j >= 1 and k != j])`` over available options. With
``w_k = exp(U_k - max U)`` (zero when unavailable), ``a = exp(-c)`` and
``W = sum_k w_k`` the rows are ``(a w_k + (1 - a) w_j [k == j]) / (a W + (1 - a) w_j)``
for ``j >= 1`` and ``w_k / W`` for ``j = 0``: one formula, log-sum-exp stable,
and an unavailable option gets probability exactly 0 (``w = 0``) while its
adopters, forced to choose, face the switching cost on every option alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import Scenario

__all__ = [
    "Tastes",
    "vendor_utilities",
    "option_weights",
    "choice_probabilities",
    "stationary_shares",
    "cohort_step",
    "inside_shares",
    "inclusive_value",
]


@dataclass(frozen=True)
class Tastes:
    """Segment taste parameters as arrays over segments (MODEL.md 4.1)."""

    beta: np.ndarray  #: utility per capability point
    alpha: np.ndarray  #: weight of -ln(price)
    omega: np.ndarray  #: utility of open weights
    switching_cost: np.ndarray  #: c
    reconsider: np.ndarray  #: lambda, per month
    home_bias: np.ndarray  #: utility of a home-region vendor
    network: float  #: eta
    share_floor: float  #: eps

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Tastes:
        """Collect the tastes of every segment."""
        seg = scenario.segments

        def arr(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) for s in seg], dtype=float)

        return cls(arr("capability_weight"), arr("price_elasticity"), arr("open_preference"),
                   arr("switching_cost"), arr("reconsider_rate"), arr("home_bias"),
                   scenario.world.network_effect, scenario.world.share_floor)


def vendor_utilities(tastes: Tastes, capability: np.ndarray, price: np.ndarray,
                     is_open: np.ndarray, home: np.ndarray, brand: np.ndarray,
                     network_share: np.ndarray) -> np.ndarray:
    """Utility ``U[region, segment, vendor]`` of every vendor (MODEL.md 4.1).

    Args:
        tastes: Segment tastes.
        capability: ``q[k]``.
        price: ``p[k]`` (USD per M tokens, > 0).
        is_open: ``open[k]``.
        home: home region index ``[k]``.
        brand: ``xi[region, segment, k]``.
        network_share: ``share[region, segment, k]``: k's share of the cell's AI adopters
            last month.
    """
    n_regions = brand.shape[0]
    at_home = home[None, :] == np.arange(n_regions)[:, None]  # [region, k]
    return (
        tastes.beta[None, :, None] * capability[None, None, :]
        - tastes.alpha[None, :, None] * np.log(price)[None, None, :]
        + tastes.omega[None, :, None] * is_open[None, None, :]
        + brand
        + tastes.network * np.log(network_share + tastes.share_floor)
        + tastes.home_bias[None, :, None] * at_home[:, None, :]
    )


def option_weights(utilities: np.ndarray, outside: np.ndarray, available: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Stable exponentiated utilities per access group.

    Args:
        utilities: ``U[region, segment, vendor]``.
        outside: ``U0[region, segment]``.
        available: ``[region, group, vendor]``.

    Returns:
        ``(w, shift)``: ``w[region, segment, group, option]`` = ``exp(U - shift)``, exactly
        0 for unavailable options, and the shift ``[region, segment, group]`` (the max
        available utility), so ``ln(sum w) + shift`` is the log-sum-exp.
    """
    full = np.concatenate([outside[..., None], utilities], axis=-1)  # [R, S, O]
    n_g = available.shape[1]
    mask = np.concatenate([np.ones((*available.shape[:2], 1), dtype=bool), available], axis=-1)
    full = np.broadcast_to(full[:, :, None, :], (*full.shape[:2], n_g, full.shape[-1]))
    masked = np.where(mask[:, None, :, :], full, -np.inf)
    shift = masked.max(axis=-1)
    weights = np.exp(masked - shift[..., None])
    return weights, shift


def choice_probabilities(weights: np.ndarray, switching: np.ndarray) -> np.ndarray:
    """Transition probabilities ``P[region, segment, group, from, to]`` of a reconsidering adopter.

    Args:
        weights: From :func:`option_weights`.
        switching: Effective switching cost ``c_s * m_r`` as ``[region, segment]``.
    """
    keep = np.exp(-switching)[:, :, None, None]  # a = exp(-c)
    total = weights.sum(axis=-1)[..., None]  # W
    n_o = weights.shape[-1]
    probs = keep[..., None] * np.broadcast_to(weights[..., None, :], (*weights.shape, n_o))
    diag = np.arange(n_o)
    probs[..., diag, diag] += (1.0 - keep) * weights
    probs[..., 0, :] = weights  # from "no model": no switching cost
    rows = np.concatenate([total, keep * total + (1.0 - keep) * weights[..., 1:]], axis=-1)
    probs /= rows[..., None]
    return probs


def stationary_shares(weights: np.ndarray, switching: np.ndarray) -> np.ndarray:
    """Long-run shares of the choice chain with fixed utilities.

    The chain is reversible and its stationary distribution is
    ``pi_j ~ w_j * (a W + (1 - a) w_j [j >= 1])`` with ``pi_0 ~ a W w_0`` (detailed
    balance); with no switching cost (a = 1) it is the logit ``w / W``.
    """
    keep = np.exp(-switching)[:, :, None, None]
    total = weights.sum(axis=-1, keepdims=True)
    mass = weights * (keep * total + (1.0 - keep) * weights)
    mass[..., 0] = keep[..., 0] * total[..., 0] * weights[..., 0]
    return mass / mass.sum(axis=-1, keepdims=True)


def cohort_step(counts: np.ndarray, probs: np.ndarray, reconsider: np.ndarray,
                forced: np.ndarray, generators: list[np.random.Generator]) -> np.ndarray:
    """One month of the cohort update, one random stream per region.

    Args:
        counts: ``N[region, segment, group, option]`` (int64).
        probs: From :func:`choice_probabilities`.
        reconsider: lambda per segment.
        forced: ``[region, group, option]``: adopters of these options must choose
            (their option became unavailable).
        generators: One generator per region (keyed by month and region).

    Returns:
        The new counts (same shape; totals per cell unchanged).
    """
    out = np.empty_like(counts)
    lam = reconsider[:, None, None]
    for r, rng in enumerate(generators):
        cell = counts[r]
        movers = rng.binomial(cell, lam)
        movers = np.where(forced[r][None, :, :], cell, movers)
        moves = rng.multinomial(movers, probs[r])  # [S, G, from, to]
        out[r] = cell - movers + moves.sum(axis=-2)
    return out


def inside_shares(counts: np.ndarray) -> np.ndarray:
    """Each vendor's share of its cell's AI adopters, ``[region, segment, vendor]``.

    Access groups are pooled. A cell with no AI adopters gives shares of 0.
    """
    pooled = counts[..., 1:].sum(axis=2).astype(float)
    total = pooled.sum(axis=-1, keepdims=True)
    return np.divide(pooled, total, out=np.zeros_like(pooled), where=total > 0)


def inclusive_value(weights: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Logit inclusive value ``ln(e^U0 + sum_k e^U_k)`` per ``[region, segment, group]``."""
    return np.log(weights.sum(axis=-1)) + shift
