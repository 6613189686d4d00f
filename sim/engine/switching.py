"""Switching between options: the logit chain's kernel, for both demand engines (MODEL.md 4.3).

Adopters who reconsider move by the transition matrix ``P`` of :func:`transition_probabilities`
(the logit weights with a switching cost on leaving one's line). The exact engine draws a
binomial of movers and a multinomial per row of ``P``; the expected engine moves expected
counts with :func:`expected_arrivals`, the closed form of ``movers @ P`` (``O`` operations per
cell rather than ``O^2``: at a few dozen options that is most of a month's cost).
"""

from __future__ import annotations

import numpy as np

from sim.engine.choice import require_engine, whole_counts
from sim.streams import KeyedStreams, Mechanism, keyed_generators

__all__ = ["transition_probabilities", "expected_arrivals", "switch", "choose"]


def transition_probabilities(weights: np.ndarray, switching: np.ndarray) -> np.ndarray:
    """``P[W, R, S, G, O, O]``: where a reconsidering adopter at ``j`` (row) goes.

    Args:
        weights: ``[W, R, S, G, O]`` from :func:`choice_weights`.
        switching: ``[W, R, S]`` effective switching cost ``c`` (utility units, >= 0).

    Returns:
        Rows summing to 1; columns of unavailable options exactly 0. An adopter of an
        unavailable option (forced to choose) faces the switching cost on every option alike.
    """
    keep = np.exp(-switching)[..., None, None]  # a = exp(-c), [W, R, S, 1, 1]
    total = weights.sum(axis=-1, keepdims=True)  # [..., G, 1]
    n_o = weights.shape[-1]
    probs = keep[..., None] * np.broadcast_to(weights[..., None, :], (*weights.shape, n_o))
    diag = np.arange(n_o)
    probs[..., diag, diag] += (1.0 - keep) * weights
    probs[..., 0, :] = weights  # from the outside option: no switching cost
    rows = np.concatenate([total, keep * total + (1.0 - keep) * weights[..., 1:]], axis=-1)
    return probs / rows[..., None]


def expected_arrivals(movers: np.ndarray, weights: np.ndarray,
                      switching: np.ndarray) -> np.ndarray:
    """``movers @ P`` without building ``P`` (:func:`transition_probabilities`): ``[..., O]``.

    With ``a = exp(-c)``, ``W = sum w`` and row sums ``r_0 = W``, ``r_j = a W + (1 - a) w_j``,
    ``P[j, k] = (a w_k + (1 - a) w_j [j = k]) / r_j`` for ``j >= 1`` and ``w_k / W`` from
    the outside option, so the arrivals at ``k`` are

        w_k (m_0 / W + a sum_{j>=1} m_j / r_j) + (1 - a) w_k m_k / r_k   (the last for k >= 1)

    ``O`` operations per cell instead of ``O^2``: the expected engine's switching step (the
    exact engine still draws a multinomial per row of ``P``). Equal to the matrix product up
    to rounding (``tests/engine/test_choice.py``).

    Args:
        movers: ``[W, R, S, G, O]`` adopters who reconsider, by the option they leave.
        weights: ``[W, R, S, G, O]`` from :func:`choice_weights`.
        switching: ``[W, R, S]`` effective switching cost ``c`` (utility units, >= 0).

    Returns:
        ``[W, R, S, G, O]`` expected arrivals by option.
    """
    keep = np.exp(-switching)[..., None, None]  # a, [W, R, S, 1, 1]
    total = weights.sum(axis=-1, keepdims=True)
    rows = keep * total + (1.0 - keep) * weights[..., 1:]
    per_row = movers[..., 1:] / rows
    common = movers[..., :1] / total + keep * per_row.sum(axis=-1, keepdims=True)
    arrivals = weights * common
    arrivals[..., 1:] += (1.0 - keep) * weights[..., 1:] * per_row
    return arrivals


def switch(counts: np.ndarray, weights: np.ndarray, switching: np.ndarray,
           reconsider: np.ndarray, forced: np.ndarray, engine: str,
           streams: KeyedStreams | None, month: int,
           newly: np.ndarray | None = None) -> np.ndarray:
    """One month of switching from the choice weights: :func:`choose` with the engine's kernel.

    The expected engine moves expected counts with :func:`expected_arrivals` (no ``O x O``
    matrix); the exact engine builds :func:`transition_probabilities` for its multinomials.
    Arguments and result as :func:`choose`, with ``weights`` and ``switching`` in place of
    ``probs``.
    """
    if engine == "expected":
        movers = _movers(counts, reconsider, forced, newly)
        return np.maximum(counts - movers + expected_arrivals(movers, weights, switching), 0.0)
    return choose(counts, transition_probabilities(weights, switching), reconsider, forced,
                  engine, streams, month, newly)


def _rates(counts: np.ndarray, reconsider: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """``[W, R, S, G, O]`` reconsideration rate ``lambda + (1 - lambda) f`` of each option."""
    lam = reconsider[:, None, :, None, None]
    return np.concatenate([np.broadcast_to(lam, (*counts.shape[:-1], 1)),
                           lam + (1.0 - lam) * forced], axis=-1)


def _movers(counts: np.ndarray, reconsider: np.ndarray, forced: np.ndarray,
            newly: np.ndarray | None) -> np.ndarray:
    """Expected reconsidering adopters ``[W, R, S, G, O]`` (see :func:`choose`)."""
    rate = _rates(counts, reconsider, forced)
    certain = np.zeros(counts.shape[:-1]) if newly is None else newly
    movers = counts * rate
    movers[..., 0] = certain + (counts[..., 0] - certain) * rate[..., 0]
    return movers


def choose(counts: np.ndarray, probs: np.ndarray, reconsider: np.ndarray, forced: np.ndarray,
           engine: str, streams: KeyedStreams | None, month: int,
           newly: np.ndarray | None = None) -> np.ndarray:
    """One month of switching; returns the new counts (the input is not modified).

    Each adopter at option ``j`` reconsiders with probability ``lambda_s``; adopters of line
    ``k`` also with ``forced[..., k]`` (1 when the line became unavailable to the group; a
    decay rate for downloaded open weights under a ban): rate ``lambda + (1 - lambda) f``.
    The ``newly`` aware (held in option 0) reconsider with certainty. Movers go by ``P``.

    Args:
        counts: ``[W, R, S, G, O]`` adopters by option (whole numbers for ``"exact"``).
        probs: ``[W, R, S, G, O, O]`` from :func:`transition_probabilities`.
        reconsider: ``[W, S]`` ``lambda`` per month.
        forced: ``[W, R, S, G, K]`` forced reconsideration probability of each line.
        engine: ``"expected"`` (movers ``N (lambda + (1 - lambda) f)``, ``N - m + m P``) or
            ``"exact"`` (``Binomial`` movers, then ``Multinomial(movers_j, P[j])``, keyed by
            ``Mechanism.DEMAND`` per (world, region); needs ``streams``).
        streams: Keyed streams (unused by the expected engine).
        month: Step (part of the key).
        newly: ``[W, R, S, G]`` newly aware adopters in option 0 (None: none).

    Returns:
        ``[W, R, S, G, O]`` counts; each (cell, group) total is unchanged (exactly for
        ``"exact"``, to rounding for ``"expected"``), none negative.
    """
    require_engine(engine)
    rate = _rates(counts, reconsider, forced)
    certain = np.zeros(counts.shape[:-1]) if newly is None else newly
    if engine == "expected":
        movers = _movers(counts, reconsider, forced, newly)
        out = counts - movers + np.einsum("...j,...jk->...k", movers, probs)
        return np.maximum(out, 0.0)  # -1e-12 from rounding would be a negative count
    if streams is None:
        raise ValueError("the exact engine needs streams")
    whole = whole_counts(counts, "counts")
    certain_whole = whole_counts(certain, "newly")
    # the outside option (always available) goes last, so the multinomial's remainder category
    # is never an unavailable option whatever the rounding of the row
    rolled = np.roll(probs, -1, axis=-1)
    out = np.empty_like(counts)
    for w, r, generator in keyed_generators(streams, Mechanism.DEMAND, month, counts.shape[1]):
        cell = whole[w, r]
        free = cell.copy()
        free[..., 0] -= certain_whole[w, r]  # the newly aware move for sure
        movers = generator.binomial(free, rate[w, r])
        movers[..., 0] += certain_whole[w, r]
        moves = np.roll(generator.multinomial(movers, rolled[w, r]), 1, axis=-1)
        out[w, r] = cell - movers + moves.sum(axis=-2)
    return out
